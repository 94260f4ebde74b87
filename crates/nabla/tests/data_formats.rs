//! The real data formats: small files written here in each format read back
//! exactly, every kind of corruption is an error naming the file, the
//! bundled MNIST, and the downloader against a local HTTP server.

use std::collections::HashMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use flate2::Compression;
use nabla::data::checksum::{self, sha256_file, sha256_hex, verify_sha256, KnownFile};
use nabla::data::cifar::{read_class_names, CIFAR10_CLASSES, IMAGE_BYTES, RECORD_BYTES};
use nabla::data::download::{self, download, extract_cifar10, DownloadArgs, FileStatus, RemoteDataset};
use nabla::data::idx::{read_idx_images, read_idx_labels, FASHION_MNIST_CLASSES};
use nabla::data::{
    bundled_mnist_dir, Cifar10, CsvDataset, FashionMnist, IdxDataset, ImageFolder, LabelColumn,
    LabeledDataset, Mnist, Split,
};
use nabla::Error;

// ----------------------------------------------------------------- helpers

/// A fresh folder under the system's temporary folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("nabla_data_formats_{}_{n}_{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [2051u32, count, rows, cols] {
        b.extend(v.to_be_bytes());
    }
    b.extend_from_slice(pixels);
    b
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [2049u32, labels.len() as u32] {
        b.extend(v.to_be_bytes());
    }
    b.extend_from_slice(labels);
    b
}

/// Deterministic pseudo-random bytes.
fn bytes(n: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// Asserts that `result` is an error whose message names `path` and contains `needle`.
#[track_caller]
fn expect_err<T>(result: nabla::Result<T>, path: &Path, needle: &str) -> Error {
    let e = match result {
        Ok(_) => panic!(
            "expected an error about {} containing {needle:?}, got Ok",
            path.display()
        ),
        Err(e) => e,
    };
    let msg = e.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "the message does not name {}: {msg}",
        path.display()
    );
    assert!(msg.contains(needle), "the message lacks {needle:?}: {msg}");
    e
}

fn example(data: &dyn LabeledDataset, index: usize) -> Vec<f32> {
    let size: usize = data.example_shape().iter().product();
    let mut out = vec![f32::NAN; size];
    data.read_example(index, &mut out);
    out
}

fn scaled(bytes: &[u8]) -> Vec<f32> {
    bytes.iter().map(|&b| f32::from(b) / 255.0).collect()
}

// --------------------------------------------------------------------- IDX

/// Writes an MNIST-layout split of `n` 28x28 images; returns (pixels, labels).
fn write_mnist_split(
    dir: &Path,
    prefix: &str,
    n: usize,
    gz_images: bool,
    gz_labels: bool,
) -> (Vec<u8>, Vec<u8>) {
    let pixels = bytes(n * 784, n as u32);
    let labels: Vec<u8> = (0..n).map(|i| (i * 7 % 10) as u8).collect();
    let images = idx_images(n as u32, 28, 28, &pixels);
    let labs = idx_labels(&labels);
    let (ip, lp) = (
        format!("{prefix}-images-idx3-ubyte"),
        format!("{prefix}-labels-idx1-ubyte"),
    );
    if gz_images {
        fs::write(dir.join(format!("{ip}.gz")), gzip(&images)).unwrap();
    } else {
        fs::write(dir.join(ip), images).unwrap();
    }
    if gz_labels {
        fs::write(dir.join(format!("{lp}.gz")), gzip(&labs)).unwrap();
    } else {
        fs::write(dir.join(lp), labs).unwrap();
    }
    (pixels, labels)
}

#[test]
fn idx_gz_and_raw_read_back_exactly() {
    let dir = TempDir::new("idx_roundtrip");
    let (train_px, train_lb) = write_mnist_split(dir.path(), "train", 5, true, false);
    let (test_px, test_lb) = write_mnist_split(dir.path(), "t10k", 3, false, true);

    let train = Mnist::load(dir.path(), Split::Train).unwrap();
    assert_eq!(train.len(), 5);
    assert_eq!(train.example_shape(), vec![1, 28, 28]);
    assert_eq!(train.num_classes(), 10);
    assert_eq!(train.class_names()[3], "3");
    assert_eq!(train.pixels(), &train_px[..]);
    assert_eq!(train.labels(), &train_lb[..]);
    for i in 0..5 {
        assert_eq!(train.label(i), usize::from(train_lb[i]));
        assert_eq!(example(&train, i), scaled(&train_px[i * 784..(i + 1) * 784]));
    }

    let test = FashionMnist::load(dir.path(), Split::Test).unwrap();
    assert_eq!(test.len(), 3);
    assert_eq!(test.labels(), &test_lb[..]);
    assert_eq!(
        test.class_names(),
        FASHION_MNIST_CLASSES.map(String::from).to_vec()
    );
    assert_eq!(example(&test, 2), scaled(&test_px[2 * 784..]));
    let x = example(&test, 1);
    assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));

    // Non-square images through the generic reader, both encodings.
    let px = bytes(2 * 3 * 4, 9);
    fs::write(dir.join("a.idx"), idx_images(2, 3, 4, &px)).unwrap();
    fs::write(dir.join("a.idx.gz"), gzip(&idx_images(2, 3, 4, &px))).unwrap();
    for name in ["a.idx", "a.idx.gz"] {
        let images = read_idx_images(dir.join(name)).unwrap();
        assert_eq!((images.count, images.rows, images.cols), (2, 3, 4));
        assert_eq!(images.pixels, px);
    }
    fs::write(dir.join("l.idx.gz"), gzip(&idx_labels(&[1, 0]))).unwrap();
    assert_eq!(read_idx_labels(dir.join("l.idx.gz")).unwrap(), vec![1, 0]);
    let data = IdxDataset::load(
        dir.join("a.idx"),
        dir.join("l.idx.gz"),
        vec!["a".into(), "b".into()],
    )
    .unwrap();
    assert_eq!(
        (data.example_shape(), data.image_size(), data.label(0)),
        (vec![1, 3, 4], (3, 4), 1)
    );
    assert_eq!(example(&data, 1), scaled(&px[12..]));
}

#[test]
fn idx_gz_is_preferred_and_a_missing_file_is_named() {
    let dir = TempDir::new("idx_missing");
    let err = expect_err(
        Mnist::load(dir.path(), Split::Test),
        &dir.join("t10k-images-idx3-ubyte.gz"),
        "no such file",
    );
    assert!(matches!(err, Error::Io { .. }));
    let (px, _) = write_mnist_split(dir.path(), "t10k", 2, true, true);
    // A raw file of other content beside the .gz: the .gz is read.
    fs::write(
        dir.join("t10k-images-idx3-ubyte"),
        idx_images(2, 28, 28, &vec![0; 2 * 784]),
    )
    .unwrap();
    assert_eq!(Mnist::load(dir.path(), Split::Test).unwrap().pixels(), &px[..]);
}

#[test]
fn idx_corruptions_are_errors_naming_the_file() {
    let dir = TempDir::new("idx_corrupt");
    let write = |name: &str, data: &[u8]| {
        let p = dir.join(name);
        fs::write(&p, data).unwrap();
        p
    };
    let px = bytes(4 * 784, 1);
    let good_images = idx_images(4, 28, 28, &px);
    let good_labels = idx_labels(&[0, 1, 2, 3]);

    // Wrong magic numbers: a labels file read as images, random numbers.
    let mut swapped = good_images.clone();
    swapped[3] = 0x01; // magic 2049
    let p = write("swapped_magic", &swapped);
    expect_err(read_idx_images(&p), &p, "wrong magic number 2049");
    expect_err(read_idx_images(&p), &p, "expected 2051");
    let mut random = good_labels.clone();
    random[..4].copy_from_slice(&0x1234_5678u32.to_be_bytes());
    let p = write("random_magic", &random);
    expect_err(read_idx_labels(&p), &p, "wrong magic number 305419896");
    let p = write("images_as_labels", &good_images);
    expect_err(read_idx_labels(&p), &p, "expected 2049");

    // Truncated header, raw and gzipped.
    let p = write("short_header", &good_images[..10]);
    expect_err(read_idx_images(&p), &p, "truncated header: the file has 10 bytes");
    let p = write("short_header.gz", &gzip(&good_labels[..5]));
    expect_err(
        read_idx_labels(&p),
        &p,
        "truncated header: the decompressed data has 5 bytes",
    );
    let p = write("empty_raw", &[]);
    expect_err(read_idx_images(&p), &p, "truncated header");

    // Truncated data, raw and gzipped.
    let p = write("short_data", &good_images[..good_images.len() - 1]);
    expect_err(
        read_idx_images(&p),
        &p,
        "truncated: the header announces 4 images of 28x28 (3136 bytes of pixels) but only 3135",
    );
    let p = write("short_data.gz", &gzip(&good_labels[..10]));
    expect_err(
        read_idx_labels(&p),
        &p,
        "truncated: the header announces 4 labels but only 2 bytes follow",
    );

    // More data than announced.
    let mut long = good_labels.clone();
    long.push(4);
    let p = write("long_labels", &long);
    expect_err(
        read_idx_labels(&p),
        &p,
        "1 bytes of trailing data after the 4 labels",
    );

    // Zero count or dimension.
    let p = write("zero_rows", &idx_images(4, 0, 28, &[]));
    expect_err(read_idx_images(&p), &p, "invalid image dimensions 0x28");
    let p = write("zero_count", &idx_labels(&[]));
    expect_err(read_idx_labels(&p), &p, "announces 0 labels");

    // Broken gzip: empty, not gzip at all, corrupt deflate data, cut short, bad CRC.
    let p = write("empty.gz", &[]);
    expect_err(read_idx_images(&p), &p, "empty file");
    let p = write("garbage.gz", b"this is not gzip data at all");
    expect_err(read_idx_images(&p), &p, "not a gzip file");
    let mut corrupt = gzip(&good_images);
    for b in &mut corrupt[10..40] {
        *b = 0xff;
    }
    let p = write("corrupt.gz", &corrupt);
    expect_err(read_idx_images(&p), &p, "corrupt or truncated gzip data");
    let gz = gzip(&good_images);
    let p = write("cut.gz", &gz[..gz.len() / 2]);
    expect_err(read_idx_images(&p), &p, "corrupt or truncated gzip data");
    let mut bad_crc = gzip(&good_labels);
    let n = bad_crc.len();
    bad_crc[n - 8] ^= 0xff;
    let p = write("bad_crc.gz", &bad_crc);
    expect_err(read_idx_labels(&p), &p, "corrupt or truncated gzip data");

    // Count mismatch between the two files, label out of range.
    let images = write("ok_images", &good_images);
    let labels = write("three_labels", &idx_labels(&[0, 1, 2]));
    let err = expect_err(
        IdxDataset::load(&images, &labels, (0..10).map(|d| d.to_string()).collect()),
        &labels,
        "count mismatch: 3 labels, but",
    );
    assert!(err.to_string().contains(&images.display().to_string()));
    let labels = write("bad_label", &idx_labels(&[0, 1, 10, 3]));
    expect_err(
        IdxDataset::load(&images, &labels, (0..10).map(|d| d.to_string()).collect()),
        &labels,
        "label 10 of example 2 is out of range 0..10",
    );
}

#[test]
fn mnist_layout_errors_name_the_file() {
    // Wrong dimensions for MNIST.
    let dir = TempDir::new("mnist_dims");
    fs::write(
        dir.join("train-images-idx3-ubyte.gz"),
        gzip(&idx_images(2, 27, 28, &bytes(2 * 27 * 28, 3))),
    )
    .unwrap();
    fs::write(dir.join("train-labels-idx1-ubyte.gz"), gzip(&idx_labels(&[1, 2]))).unwrap();
    expect_err(
        Mnist::load(dir.path(), Split::Train),
        &dir.join("train-images-idx3-ubyte.gz"),
        "images are 27x28, MNIST images are 28x28",
    );
    // Count mismatch through Mnist::load.
    let dir = TempDir::new("mnist_counts");
    write_mnist_split(dir.path(), "t10k", 3, true, true);
    fs::write(dir.join("t10k-labels-idx1-ubyte.gz"), gzip(&idx_labels(&[1, 2]))).unwrap();
    expect_err(
        FashionMnist::load(dir.path(), Split::Test),
        &dir.join("t10k-labels-idx1-ubyte.gz"),
        "count mismatch: 2 labels",
    );
    // The wrong file in the images slot.
    fs::write(dir.join("t10k-images-idx3-ubyte.gz"), gzip(&idx_labels(&[1; 20]))).unwrap();
    expect_err(
        Mnist::load(dir.path(), Split::Test),
        &dir.join("t10k-images-idx3-ubyte.gz"),
        "(that of an IDX file of labels)",
    );
}

// ---------------------------------------------------------------- CIFAR-10

fn cifar_records(labels: &[u8], seed: u32) -> (Vec<u8>, Vec<u8>) {
    let pixels = bytes(labels.len() * IMAGE_BYTES, seed);
    let mut file = Vec::new();
    for (i, &l) in labels.iter().enumerate() {
        file.push(l);
        file.extend_from_slice(&pixels[i * IMAGE_BYTES..(i + 1) * IMAGE_BYTES]);
    }
    (file, pixels)
}

#[test]
fn cifar_batches_read_back_exactly() {
    let dir = TempDir::new("cifar_roundtrip");
    let (a, pa) = cifar_records(&[3, 9, 0], 1);
    let (b, pb) = cifar_records(&[5, 5], 2);
    fs::write(dir.join("a.bin"), &a).unwrap();
    fs::write(dir.join("b.bin"), &b).unwrap();
    let data = Cifar10::from_batches(&[dir.join("a.bin"), dir.join("b.bin")], None).unwrap();
    assert_eq!(data.len(), 5);
    assert_eq!(data.example_shape(), vec![3, 32, 32]);
    assert_eq!(data.labels(), &[3, 9, 0, 5, 5]);
    assert_eq!(data.class_names(), CIFAR10_CLASSES.map(String::from).to_vec());
    assert_eq!(data.pixels(), &[pa.clone(), pb.clone()].concat()[..]);
    assert_eq!(example(&data, 1), scaled(&pa[IMAGE_BYTES..2 * IMAGE_BYTES]));
    assert_eq!(example(&data, 4), scaled(&pb[IMAGE_BYTES..]));
    // Channel-first: element [c, y, x] is byte 1 + c*1024 + y*32 + x of the record.
    let x = example(&data, 0);
    assert_eq!(
        x[2 * 1024 + 5 * 32 + 7],
        f32::from(a[1 + 2 * 1024 + 5 * 32 + 7]) / 255.0
    );

    // Class names from batches.meta.txt (blank lines ignored).
    let names = "zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n\n";
    fs::write(dir.join("batches.meta.txt"), names).unwrap();
    let data = Cifar10::from_batches(&[dir.join("b.bin")], Some(&dir.join("batches.meta.txt"))).unwrap();
    assert_eq!(data.class_names()[5], "five");
    assert_eq!(read_class_names(dir.join("batches.meta.txt")).unwrap().len(), 10);
}

#[test]
fn cifar_official_layout_and_count() {
    let dir = TempDir::new("cifar_layout");
    let sub = dir.join("cifar-10-batches-bin");
    fs::create_dir_all(&sub).unwrap();
    let labels: Vec<u8> = (0..10_000).map(|i| (i % 10) as u8).collect();
    let (file, pixels) = cifar_records(&labels, 7);
    fs::write(sub.join("test_batch.bin"), &file).unwrap();
    // The folder holding cifar-10-batches-bin/ works as well as that folder.
    for d in [dir.path(), sub.as_path()] {
        let test = Cifar10::load(d, Split::Test).unwrap();
        assert_eq!(test.len(), 10_000);
        assert_eq!(test.label(9_999), 9);
        assert_eq!(example(&test, 9_999), scaled(&pixels[9_999 * IMAGE_BYTES..]));
    }
    // One record short of a batch: a whole number of records, still an error.
    fs::write(sub.join("test_batch.bin"), &file[..9_999 * RECORD_BYTES]).unwrap();
    expect_err(
        Cifar10::load(&sub, Split::Test),
        &sub.join("test_batch.bin"),
        "count mismatch: 9999 records, a CIFAR-10 batch holds 10000",
    );
    // Training batches: a missing one is named.
    fs::write(sub.join("data_batch_1.bin"), &file).unwrap();
    fs::write(sub.join("data_batch_2.bin"), &file).unwrap();
    let err = expect_err(
        Cifar10::load(&sub, Split::Train),
        &sub.join("data_batch_3.bin"),
        "",
    );
    assert!(matches!(err, Error::Io { .. }));
}

#[test]
fn cifar_corruptions_are_errors_naming_the_file() {
    let dir = TempDir::new("cifar_corrupt");
    let (good, _) = cifar_records(&[1, 2], 3);
    let p = dir.join("truncated.bin");
    fs::write(&p, &good[..good.len() - 100]).unwrap();
    expect_err(
        Cifar10::from_batches(&[&p], None),
        &p,
        "truncated: 6046 bytes is not a whole number of 3073-byte records",
    );
    let p = dir.join("empty.bin");
    fs::write(&p, []).unwrap();
    expect_err(Cifar10::from_batches(&[&p], None), &p, "empty file");
    let (bad, _) = cifar_records(&[1, 10, 2], 4);
    let p = dir.join("bad_label.bin");
    fs::write(&p, &bad).unwrap();
    expect_err(
        Cifar10::from_batches(&[&p], None),
        &p,
        "record 1: label 10 is out of range 0..10",
    );
    let meta = dir.join("batches.meta.txt");
    fs::write(&meta, "a\nb\nc\n").unwrap();
    fs::write(dir.join("ok.bin"), &good).unwrap();
    expect_err(
        Cifar10::from_batches(&[dir.join("ok.bin")], Some(&meta)),
        &meta,
        "3 class names, CIFAR-10 has 10",
    );
    let missing = dir.join("nope.bin");
    expect_err(Cifar10::from_batches(&[&missing], None), &missing, "");
}

// ------------------------------------------------------------ image folder

#[test]
fn image_folder_png_and_jpeg_read_back() {
    let root = TempDir::new("folder_roundtrip");
    // Created out of order: classes are the sorted folder names.
    for class in ["dogs", "cats"] {
        fs::create_dir_all(root.join(class)).unwrap();
    }
    fs::create_dir_all(root.join(".hidden")).unwrap();
    fs::write(root.join("cats").join("notes.txt"), "not an image, skipped").unwrap();
    fs::write(root.join("README"), "a file at the top level, skipped").unwrap();
    // cats/b.png: RGB 4 wide x 3 high, every value distinct.
    let rgb = bytes(4 * 3 * 3, 11);
    image::RgbImage::from_raw(4, 3, rgb.clone())
        .unwrap()
        .save(root.join("cats").join("b.png"))
        .unwrap();
    // cats/a.PNG: RGBA (alpha is dropped).
    image::RgbaImage::from_pixel(4, 3, image::Rgba([10, 20, 30, 40]))
        .save_with_format(root.join("cats").join("a.PNG"), image::ImageFormat::Png)
        .unwrap();
    // dogs/c.jpg: a flat colour, which JPEG keeps almost exactly.
    image::RgbImage::from_pixel(4, 3, image::Rgb([200, 100, 50]))
        .save(root.join("dogs").join("c.jpg"))
        .unwrap();

    let data = ImageFolder::load(root.path(), (3, 4), false).unwrap();
    assert_eq!(data.classes(), ["cats", "dogs"]);
    assert_eq!(data.class_names(), vec!["cats".to_string(), "dogs".to_string()]);
    assert_eq!(data.len(), 3);
    assert_eq!(data.example_shape(), vec![3, 3, 4]);
    let names: Vec<_> = data
        .paths()
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(names, ["a.PNG", "b.png", "c.jpg"]);
    assert_eq!(data.labels(), &[0, 0, 1]);
    // a.PNG: every pixel (10, 20, 30), channel-first.
    let a = example(&data, 0);
    assert_eq!(a[..12], [10.0 / 255.0; 12]);
    assert_eq!(a[12..24], [20.0 / 255.0; 12]);
    assert_eq!(a[24..], [30.0 / 255.0; 12]);
    // b.png exactly, HWC in the file -> CHW in the example.
    let b = example(&data, 1);
    for c in 0..3 {
        for i in 0..12 {
            assert_eq!(b[c * 12 + i], f32::from(rgb[i * 3 + c]) / 255.0);
        }
    }
    // c.jpg within JPEG's rounding.
    let c = example(&data, 2);
    for (ch, want) in [200.0f32, 100.0, 50.0].iter().enumerate() {
        for v in &c[ch * 12..(ch + 1) * 12] {
            assert!((v * 255.0 - want).abs() <= 3.0, "channel {ch}: {v}");
        }
    }

    // Grayscale and resized: flat images stay flat.
    let gray = ImageFolder::load(root.path(), (2, 2), true).unwrap();
    assert_eq!(gray.example_shape(), vec![1, 2, 2]);
    let a = example(&gray, 0);
    let luma = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(1, 1, image::Rgb([10, 20, 30])))
        .to_luma8()
        .get_pixel(0, 0)[0];
    assert!(
        a.iter().all(|&v| (v * 255.0 - f32::from(luma)).abs() <= 1.0),
        "{a:?}"
    );
    assert!(example(&gray, 2).iter().all(|v| (0.0..=1.0).contains(v)));

    // A grayscale PNG read as grayscale at its own size: exact.
    let root2 = TempDir::new("folder_gray");
    fs::create_dir_all(root2.join("x")).unwrap();
    let g = bytes(5 * 2, 5);
    image::GrayImage::from_raw(5, 2, g.clone())
        .unwrap()
        .save(root2.join("x").join("g.png"))
        .unwrap();
    let data = ImageFolder::load(root2.path(), (2, 5), true).unwrap();
    assert_eq!(example(&data, 0), scaled(&g));
    assert_eq!(data.pixels(), &g[..]);
}

#[test]
fn image_folder_errors_name_the_file() {
    let root = TempDir::new("folder_corrupt");
    fs::create_dir_all(root.join("a")).unwrap();
    image::GrayImage::from_pixel(3, 3, image::Luma([7]))
        .save(root.join("a").join("ok.png"))
        .unwrap();
    // Garbage named .png.
    let bad = root.join("a").join("garbage.png");
    fs::write(&bad, b"definitely not a PNG").unwrap();
    expect_err(
        ImageFolder::load(root.path(), (3, 3), false),
        &bad,
        "cannot decode the image",
    );
    // A truncated PNG.
    let mut png = Vec::new();
    image::RgbImage::from_raw(16, 16, bytes(16 * 16 * 3, 2))
        .unwrap()
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    fs::write(&bad, &png[..png.len() / 2]).unwrap();
    expect_err(
        ImageFolder::load(root.path(), (3, 3), false),
        &bad,
        "cannot decode the image",
    );
    // A truncated JPEG.
    let mut jpeg = Vec::new();
    image::RgbImage::from_raw(16, 16, bytes(16 * 16 * 3, 3))
        .unwrap()
        .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .unwrap();
    fs::remove_file(&bad).unwrap();
    let bad = root.join("a").join("cut.jpg");
    fs::write(&bad, &jpeg[..jpeg.len() / 3]).unwrap();
    expect_err(
        ImageFolder::load(root.path(), (3, 3), false),
        &bad,
        "cannot decode the image",
    );
    fs::remove_file(&bad).unwrap();
    // An empty class folder.
    fs::create_dir_all(root.join("b")).unwrap();
    fs::write(root.join("b").join("readme.txt"), "no images here").unwrap();
    expect_err(
        ImageFolder::load(root.path(), (3, 3), false),
        &root.join("b"),
        "holds no PNG or JPEG image",
    );
    // No class folder at all; a missing folder.
    let empty = TempDir::new("folder_empty");
    expect_err(
        ImageFolder::load(empty.path(), (3, 3), false),
        empty.path(),
        "no class sub-folder",
    );
    let missing = empty.join("nope");
    let err = expect_err(ImageFolder::load(&missing, (3, 3), false), &missing, "");
    assert!(matches!(err, Error::Io { .. }));
}

/// The course's cats-versus-dogs folder, when the shared data is beside the repository.
#[test]
fn image_folder_cats_vs_dogs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cats-vs-dogs/test");
    if !dir.is_dir() {
        eprintln!("skipped: {} is not there", dir.display());
        return;
    }
    let data = ImageFolder::load(&dir, (32, 32), false).unwrap();
    assert_eq!(data.classes(), ["cats", "dogs"]);
    assert_eq!(data.len(), 100);
    assert_eq!(data.labels().iter().filter(|&&l| l == 1).count(), 50);
    assert_eq!(data.example_shape(), vec![3, 32, 32]);
    let x = example(&data, 0);
    assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(x.iter().any(|&v| v > 0.5) && x.iter().any(|&v| v < 0.5));
}

// --------------------------------------------------------------------- CSV

#[test]
fn csv_reads_back_exactly() {
    let dir = TempDir::new("csv_roundtrip");
    let text = "a, b ,label,c\n1.5,-2,1,3e2\n0,0.25,0,7\n\n4,5,2,6\n";
    fs::write(dir.join("t.csv"), text).unwrap();
    fs::write(dir.join("t.csv.gz"), gzip(text.as_bytes())).unwrap();
    for name in ["t.csv", "t.csv.gz"] {
        for column in [LabelColumn::Index(2), LabelColumn::from("label")] {
            let data = CsvDataset::load(dir.join(name), column, true).unwrap();
            assert_eq!(data.len(), 3);
            assert_eq!((data.example_shape(), data.num_classes()), (vec![3], 3));
            assert_eq!(data.labels(), &[1, 0, 2]);
            assert_eq!(
                data.features(),
                &[1.5, -2.0, 300.0, 0.0, 0.25, 7.0, 4.0, 5.0, 6.0]
            );
            assert_eq!(example(&data, 1), vec![0.0, 0.25, 7.0]);
            assert_eq!(data.feature_names().unwrap(), ["a", "b", "c"]);
        }
    }
    // No header, label last (as scikit-learn's digits.csv.gz).
    fs::write(dir.join("n.csv"), "1,2,3,0\n4,5,6,4.0\n").unwrap();
    let data = CsvDataset::load(dir.join("n.csv"), LabelColumn::Last, false).unwrap();
    assert_eq!((data.len(), data.num_classes(), data.label(1)), (2, 5, 4));
    assert_eq!(example(&data, 0), vec![1.0, 2.0, 3.0]);
    assert!(data.feature_names().is_none());
    let data = CsvDataset::load_with_classes(dir.join("n.csv"), 3, false, 10).unwrap();
    assert_eq!(data.num_classes(), 10);
}

#[test]
fn csv_corruptions_are_errors_naming_the_file() {
    let dir = TempDir::new("csv_corrupt");
    let case = |name: &str, text: &[u8]| {
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        p
    };
    let p = case("nan.csv", b"x,y\n1,2\n3,abc\n");
    expect_err(
        CsvDataset::load(&p, 1, true),
        &p,
        "line 3, column 2: \"abc\" is not a number",
    );
    let p = case("inf.csv", b"1,2\ninf,0\n");
    expect_err(
        CsvDataset::load(&p, 1, false),
        &p,
        "line 2, column 1: \"inf\" is not a finite number",
    );
    let p = case("empty_cell.csv", b"1,,0\n");
    expect_err(CsvDataset::load(&p, 2, false), &p, "line 1, column 2: empty cell");
    let p = case("ragged.csv", b"a,b,c\n1,2,0\n3,4\n");
    expect_err(
        CsvDataset::load(&p, 2, true),
        &p,
        "line 3: ragged row of 2 fields, the header has 3",
    );
    let p = case("ragged2.csv", b"1,2,0\n3,4,1,9\n");
    expect_err(
        CsvDataset::load(&p, 2, false),
        &p,
        "line 2: ragged row of 4 fields, the first row has 3",
    );
    let p = case("frac_label.csv", b"1,2,0\n3,4,1.5\n");
    expect_err(
        CsvDataset::load(&p, 2, false),
        &p,
        "line 2, column 3: label 1.5 is not a non-negative integer",
    );
    let p = case("neg_label.csv", b"1,2,-1\n");
    expect_err(
        CsvDataset::load(&p, LabelColumn::Last, false),
        &p,
        "label -1 is not a non-negative integer",
    );
    let p = case("range.csv", b"1,2,0\n3,4,10\n");
    expect_err(
        CsvDataset::load_with_classes(&p, 2, false, 10),
        &p,
        "line 2, column 3: label 10 is out of range 0..10",
    );
    let p = case("header_only.csv", b"a,b,c\n");
    expect_err(CsvDataset::load(&p, 2, true), &p, "no data rows");
    let p = case("empty.csv", b"");
    expect_err(CsvDataset::load(&p, 0, false), &p, "no data rows");
    let p = case("one_column.csv", b"1\n2\n");
    expect_err(CsvDataset::load(&p, 0, false), &p, "at least one feature");
    let p = case("ok.csv", b"a,b\n1,0\n");
    expect_err(
        CsvDataset::load(&p, 5, true),
        &p,
        "label column 5 is out of range: rows have 2 fields",
    );
    expect_err(
        CsvDataset::load(&p, "class", true),
        &p,
        "no column named \"class\"",
    );
    expect_err(CsvDataset::load(&p, "b", false), &p, "read without a header");
    let p = case("garbage.csv.gz", b"1,2,3\n");
    expect_err(CsvDataset::load(&p, 2, false), &p, "not a gzip file");
    let gz = gzip(b"1,2,0\n3,4,1\n5,6,0\n".repeat(200).as_slice());
    let p = case("cut.csv.gz", &gz[..gz.len() / 2]);
    expect_err(
        CsvDataset::load(&p, 2, false),
        &p,
        "corrupt or truncated gzip data",
    );
    let missing = dir.join("missing.csv");
    let err = expect_err(CsvDataset::load(&missing, 0, false), &missing, "");
    assert!(matches!(err, Error::Io { .. }));
}

/// scikit-learn's 8x8 digits, when the shared data is beside the repository.
#[test]
fn csv_sklearn_digits() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/sklearn-digits/digits.csv.gz");
    if !path.is_file() {
        eprintln!("skipped: {} is not there", path.display());
        return;
    }
    let data = CsvDataset::load(&path, LabelColumn::Last, false).unwrap();
    assert_eq!(
        (data.len(), data.example_shape(), data.num_classes()),
        (1797, vec![64], 10)
    );
    assert_eq!(data.labels()[..3], [0, 1, 2]);
    assert!(data.features().iter().all(|v| (0.0..=16.0).contains(v)));
}

/// The real Fashion-MNIST test set, when the shared data is beside the repository.
#[test]
fn fashion_mnist_real_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fashion-mnist");
    if !dir.is_dir() {
        eprintln!("skipped: {} is not there", dir.display());
        return;
    }
    let test = FashionMnist::load_verified(&dir, Split::Test).unwrap();
    assert_eq!(test.len(), 10_000);
    assert_eq!(histogram(&test), vec![1000; 10]);
    assert_eq!(test.class_names()[9], "Ankle boot");
}

// ----------------------------------------------------------- bundled MNIST

const TEST_LABEL_HISTOGRAM: [usize; 10] = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];
const TRAIN_LABEL_HISTOGRAM: [usize; 10] = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];

fn histogram(data: &dyn LabeledDataset) -> Vec<usize> {
    let mut h = vec![0; data.num_classes()];
    for i in 0..data.len() {
        h[data.label(i)] += 1;
    }
    h
}

#[test]
fn bundled_mnist_test_set() {
    let dir = bundled_mnist_dir();
    assert!(dir.ends_with("mnist"), "{}", dir.display());
    for f in ["SOURCES.md", "MD5SUMS", "SHA256SUMS"] {
        assert!(dir.join(f).is_file(), "{f} must travel with the data");
    }
    let test = Mnist::bundled(Split::Test).unwrap();
    assert_eq!(test.len(), 10_000);
    assert_eq!(test.example_shape(), vec![1, 28, 28]);
    assert_eq!(histogram(&test), TEST_LABEL_HISTOGRAM);
    assert_eq!(
        (0..10).map(|i| test.label(i)).collect::<Vec<_>>(),
        [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    );
    // Pixel range and total, as NumPy computes them on the same files.
    assert_eq!(test.pixels().iter().min(), Some(&0));
    assert_eq!(test.pixels().iter().max(), Some(&255));
    assert_eq!(
        test.pixels().iter().map(|&p| u64::from(p)).sum::<u64>(),
        264_923_200
    );
    let x = example(&test, 0);
    assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(x.contains(&0.0) && x.contains(&1.0));
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / 784.0;
    assert!((mean - 0.092_306_922_769_107_65).abs() < 1e-6, "{mean}");
}

#[test]
fn bundled_mnist_training_set() {
    let train = Mnist::bundled(Split::Train).unwrap();
    assert_eq!(train.len(), 60_000);
    assert_eq!(train.pixels().len(), 60_000 * 784, "images stay bytes");
    assert_eq!(histogram(&train), TRAIN_LABEL_HISTOGRAM);
    // The mean and standard deviation behind Normalize(0.1307, 0.3081).
    let n = train.pixels().len() as f64;
    let mean = train.pixels().iter().map(|&p| f64::from(p) / 255.0).sum::<f64>() / n;
    let var = train
        .pixels()
        .iter()
        .map(|&p| (f64::from(p) / 255.0 - mean).powi(2))
        .sum::<f64>()
        / n;
    assert!((mean - 0.130_660_476).abs() < 1e-6, "{mean}");
    assert!((var.sqrt() - 0.308_107_804).abs() < 1e-6, "{}", var.sqrt());
}

#[test]
fn bundled_checksums_are_the_known_ones_and_a_corrupted_copy_fails() {
    let dir = bundled_mnist_dir();
    checksum::verify_known_files(&dir, &checksum::MNIST).unwrap();
    for f in &checksum::MNIST {
        assert_eq!(fs::metadata(dir.join(f.name)).unwrap().len(), f.bytes);
        // The same values as the SHA256SUMS that travels with the files.
        let sums = fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
        assert!(sums.contains(&format!("{}  {}", f.sha256, f.name)), "{}", f.name);
    }

    let copy = TempDir::new("mnist_corrupt");
    for f in &checksum::MNIST[2..] {
        fs::copy(dir.join(f.name), copy.join(f.name)).unwrap();
    }
    assert_eq!(
        Mnist::load_verified(copy.path(), Split::Test).unwrap().len(),
        10_000
    );
    let target = copy.join("t10k-images-idx3-ubyte.gz");
    let mut data = fs::read(&target).unwrap();
    data[800_000] ^= 0x01;
    fs::write(&target, &data).unwrap();
    let err = expect_err(
        Mnist::load_verified(copy.path(), Split::Test),
        &target,
        "SHA-256 checksum mismatch",
    );
    match err {
        Error::Checksum { expected, found, .. } => {
            assert_eq!(expected, checksum::MNIST[2].sha256);
            assert_eq!(found, sha256_hex(&data));
        }
        other => panic!("expected Error::Checksum, got {other:?}"),
    }
    // Without the checksum, the damaged deflate stream is still caught.
    assert!(Mnist::load(copy.path(), Split::Test).is_err());
    // A missing file under load_verified.
    fs::remove_file(copy.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    expect_err(
        Mnist::load_verified(copy.path(), Split::Test),
        &copy.join("t10k-images-idx3-ubyte.gz"),
        "",
    );
    expect_err(verify_sha256(&target, &"0".repeat(64)), &target, "expected 0000");
}

#[test]
fn data_dir_follows_the_environment_variable() {
    // The same folder spelled differently, so other tests running meanwhile
    // still find the bundled files; the variable is restored afterwards.
    let saved = std::env::var_os("NABLA_DATA_DIR");
    let default = bundled_mnist_dir();
    let data = default.parent().unwrap().join(".");
    std::env::set_var("NABLA_DATA_DIR", &data);
    let overridden = bundled_mnist_dir();
    let fashion = RemoteDataset::FashionMnist.default_dir();
    match &saved {
        Some(v) => std::env::set_var("NABLA_DATA_DIR", v),
        None => std::env::remove_var("NABLA_DATA_DIR"),
    }
    assert_eq!(overridden, data.join("mnist"));
    assert_eq!(fashion, data.join("fashion-mnist"));
    assert_eq!(bundled_mnist_dir(), default);
    if saved.is_none() {
        let workspace_data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
        assert_eq!(nabla::data::data_dir(), workspace_data);
        assert!(workspace_data.join("mnist/SOURCES.md").is_file());
    }
}

// -------------------------------------------------------------- downloader

/// A tiny HTTP/1.1 server on 127.0.0.1 serving fixed bodies; stops when
/// dropped (or after two minutes).
struct Server {
    base: String,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

/// How to answer one path.
#[derive(Clone)]
enum Reply {
    Body(Vec<u8>),
    /// Announce the whole length, send half, close.
    Truncated(Vec<u8>),
}

impl Server {
    fn start(routes: HashMap<String, Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (stop2, requests2) = (stop.clone(), requests.clone());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !stop2.load(Ordering::Relaxed) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Some(path) = serve_one(stream, &routes) {
                            requests2.lock().unwrap().push(path);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => break,
                }
            }
        });
        Server {
            base,
            stop,
            requests,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_one(stream: TcpStream, routes: &HashMap<String, Reply>) -> Option<String> {
    stream.set_nonblocking(false).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let path = request_line.split_whitespace().nth(1)?.to_string();
    let mut stream = stream;
    let (status, body, send) = match routes.get(&path) {
        Some(Reply::Body(b)) => ("200 OK", b.as_slice(), b.len()),
        Some(Reply::Truncated(b)) => ("200 OK", b.as_slice(), b.len() / 2),
        None => ("404 Not Found", &b"not found"[..], 9),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body[..send]);
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
    Some(path)
}

fn bundled_bytes() -> Vec<(KnownFile, Vec<u8>)> {
    checksum::MNIST
        .iter()
        .map(|f| (*f, fs::read(bundled_mnist_dir().join(f.name)).unwrap()))
        .collect()
}

/// The names in `dir`, sorted (temporary files included).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn download_mnist_from_a_local_mirror() {
    let mut routes = HashMap::new();
    for (f, data) in bundled_bytes() {
        routes.insert(format!("/good/{}", f.name), Reply::Body(data.clone()));
        // The corrupted copy: the test labels with one byte changed.
        let mut bad = data.clone();
        if f.name == "t10k-labels-idx1-ubyte.gz" {
            bad[2000] ^= 0x40;
        }
        routes.insert(format!("/bad/{}", f.name), Reply::Body(bad));
        routes.insert(format!("/cut/{}", f.name), Reply::Truncated(data));
    }
    let server = Server::start(routes);

    // A good mirror: four files, verified, loadable.
    let dir = TempDir::new("download_good");
    let target = dir.join("mnist");
    let report = download(RemoteDataset::Mnist, &target, Some(&server.url("/good/"))).unwrap();
    assert_eq!(report.files.len(), 4);
    for ((path, status), f) in report.files.iter().zip(&checksum::MNIST) {
        assert_eq!(path, &target.join(f.name));
        assert_eq!(
            status,
            &FileStatus::Downloaded {
                url: server.url(&format!("/good/{}", f.name)),
                bytes: f.bytes
            }
        );
        assert_eq!(sha256_file(path).unwrap(), f.sha256);
    }
    assert!(report.to_string().contains("SHA-256 verified"));
    assert_eq!(
        listing(&target).len(),
        4,
        "no temporary file left: {:?}",
        listing(&target)
    );
    let test = Mnist::load_verified(&target, Split::Test).unwrap();
    assert_eq!(histogram(&test), TEST_LABEL_HISTOGRAM);
    // Again: nothing fetched.
    let before = server.requests().len();
    let report = download(RemoteDataset::Mnist, &target, Some(&server.url("/bad/"))).unwrap();
    assert!(report.files.iter().all(|(_, s)| *s == FileStatus::AlreadyPresent));
    assert_eq!(server.requests().len(), before);

    // The corrupted copy is rejected and leaves no file behind (the three
    // good files before it are kept).
    let dir = TempDir::new("download_bad");
    let err = download(RemoteDataset::Mnist, dir.path(), Some(&server.url("/bad"))).unwrap_err();
    let bad_path = dir.join("t10k-labels-idx1-ubyte.gz");
    let msg = err.to_string();
    assert!(matches!(err, Error::Download { .. }), "{err:?}");
    assert!(msg.contains(&bad_path.display().to_string()), "{msg}");
    assert!(
        msg.contains(&server.url("/bad/t10k-labels-idx1-ubyte.gz")),
        "{msg}"
    );
    assert!(msg.contains("SHA-256 checksum mismatch"), "{msg}");
    assert_eq!(
        listing(dir.path()),
        [
            "t10k-images-idx3-ubyte.gz",
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz"
        ]
    );
    // An older file at the target is left as it was.
    fs::write(&bad_path, b"old").unwrap();
    assert!(download(RemoteDataset::Mnist, dir.path(), Some(&server.url("/bad/"))).is_err());
    assert_eq!(fs::read(&bad_path).unwrap(), b"old");
    assert_eq!(listing(dir.path()).len(), 4);

    // A transfer cut short, a missing file: errors, no file.
    let dir = TempDir::new("download_cut");
    let err = download(RemoteDataset::Mnist, dir.path(), Some(&server.url("/cut/"))).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&dir.join("train-images-idx3-ubyte.gz").display().to_string()),
        "{msg}"
    );
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
    let err = download(
        RemoteDataset::FashionMnist,
        dir.path(),
        Some(&server.url("/nothing/")),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("HTTP status 404"), "{msg}");
    assert!(
        msg.contains(&dir.join("train-images-idx3-ubyte.gz").display().to_string()),
        "{msg}"
    );
    assert!(listing(dir.path()).is_empty());

    // Through the command's arguments.
    let dir = TempDir::new("download_args");
    let args = DownloadArgs::parse([
        "mnist".to_string(),
        format!("--mirror={}", server.url("/good/")),
        "--dir".to_string(),
        dir.path().display().to_string(),
    ])
    .unwrap();
    assert_eq!(args.run().unwrap().files.len(), 4);
    checksum::verify_known_files(dir.path(), &checksum::MNIST).unwrap();
}

#[test]
fn download_args_parse() {
    let args = DownloadArgs::parse(["cifar10"]).unwrap();
    assert_eq!(
        (args.dataset, args.mirror, args.dir),
        (RemoteDataset::Cifar10, None, None)
    );
    let args = DownloadArgs::parse(["--mirror", "http://m/", "Fashion-MNIST"]).unwrap();
    assert_eq!(args.dataset, RemoteDataset::FashionMnist);
    assert_eq!(args.mirror.as_deref(), Some("http://m/"));
    for (bad, needle) in [
        (vec![], "which data set?"),
        (vec!["svhn"], "unknown data set \"svhn\""),
        (vec!["mnist", "--mirror"], "--mirror needs a value"),
        (vec!["mnist", "--fast"], "unknown option \"--fast\""),
        (vec!["mnist", "cifar10"], "unexpected argument"),
    ] {
        let msg = DownloadArgs::parse(bad).unwrap_err();
        assert!(msg.contains(needle) && msg.contains(download::USAGE), "{msg}");
    }
    for d in RemoteDataset::ALL {
        assert_eq!(d.name().parse::<RemoteDataset>().unwrap(), d);
        assert!(!d.default_mirrors().is_empty());
    }
}

/// A small archive in the layout of the official `cifar-10-binary.tar.gz`.
fn cifar_archive(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for (name, data) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, data.as_slice()).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

#[test]
fn cifar_archive_extraction_and_rejection() {
    let dir = TempDir::new("cifar_archive");
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    let mut expected = Vec::new();
    for (i, name) in [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
    ]
    .iter()
    .enumerate()
    {
        let (file, _) = cifar_records(&[i as u8, 9 - i as u8], i as u32);
        members.push((format!("cifar-10-batches-bin/{name}"), file.clone()));
        expected.push((name.to_string(), file));
    }
    members.push((
        "cifar-10-batches-bin/batches.meta.txt".into(),
        CIFAR10_CLASSES.join("\n").into_bytes(),
    ));
    members.push((
        "cifar-10-batches-bin/readme.html".into(),
        b"<html></html>".to_vec(),
    ));
    // Same name in another folder: not taken.
    members.push(("other/test_batch.bin".into(), vec![0; 7]));
    let refs: Vec<(&str, Vec<u8>)> = members.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    let archive = dir.join("cifar-10-binary.tar.gz");
    fs::write(&archive, cifar_archive(&refs)).unwrap();

    let out = dir.join("out");
    fs::create_dir_all(&out).unwrap();
    let written = extract_cifar10(&archive, &out).unwrap();
    assert_eq!(written.len(), 7);
    for (name, data) in &expected {
        assert_eq!(&fs::read(out.join(name)).unwrap(), data, "{name}");
    }
    assert_eq!(listing(&out).len(), 7);
    let test =
        Cifar10::from_batches(&[out.join("test_batch.bin")], Some(&out.join("batches.meta.txt"))).unwrap();
    assert_eq!((test.len(), test.label(0), test.label(1)), (2, 5, 4));

    // An archive lacking a batch; a truncated archive.
    let partial = dir.join("partial.tar.gz");
    fs::write(&partial, cifar_archive(&refs[1..])).unwrap();
    expect_err(
        extract_cifar10(&partial, &out),
        &partial,
        "lacks cifar-10-batches-bin/data_batch_1.bin",
    );
    let full = fs::read(&archive).unwrap();
    let cut = dir.join("cut.tar.gz");
    fs::write(&cut, &full[..full.len() / 2]).unwrap();
    let out2 = dir.join("out2");
    fs::create_dir_all(&out2).unwrap();
    expect_err(extract_cifar10(&cut, &out2), &cut, "corrupt or truncated archive");
    assert!(
        listing(&out2).iter().all(|n| !n.starts_with('.')),
        "{:?}",
        listing(&out2)
    );

    // A mirror serving this archive instead of the official one: rejected
    // by its checksum, nothing left behind.
    let server = Server::start(HashMap::from([(
        "/cifar/cifar-10-binary.tar.gz".to_string(),
        Reply::Body(full.clone()),
    )]));
    let target = dir.join("cifar10");
    let err = download(RemoteDataset::Cifar10, &target, Some(&server.url("/cifar"))).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&target.join("cifar-10-binary.tar.gz").display().to_string()),
        "{msg}"
    );
    assert!(msg.contains(&format!("received {} bytes", full.len())), "{msg}");
    assert!(listing(&target).is_empty(), "{:?}", listing(&target));
}

#[test]
fn download_file_checks_size_and_checksum() {
    let body = b"hello, nabla".to_vec();
    let server = Server::start(HashMap::from([("/f".to_string(), Reply::Body(body.clone()))]));
    let dir = TempDir::new("download_file");
    let path = dir.join("f");
    let sha = sha256_hex(&body);
    let sha: &'static str = Box::leak(sha.into_boxed_str());
    let known = KnownFile {
        name: "f",
        bytes: body.len() as u64,
        sha256: sha,
    };
    assert_eq!(
        download::download_file(&server.url("/f"), &path, &known).unwrap(),
        12
    );
    assert_eq!(fs::read(&path).unwrap(), body);
    fs::remove_file(&path).unwrap();
    // Expecting fewer bytes: stopped as soon as the server sends more.
    let short = KnownFile { bytes: 5, ..known };
    let err = download::download_file(&server.url("/f"), &path, &short).unwrap_err();
    assert!(err.to_string().contains("more than the 5 bytes"), "{err}");
    // The right size, another checksum.
    let other = KnownFile {
        sha256: checksum::MNIST[0].sha256,
        ..known
    };
    let err = download::download_file(&server.url("/f"), &path, &other).unwrap_err();
    assert!(err.to_string().contains("SHA-256 checksum mismatch"), "{err}");
    assert!(listing(dir.path()).is_empty());
    // Nobody listening.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/f", closed.local_addr().unwrap());
    drop(closed);
    let err = download::download_file(&url, &path, &known).unwrap_err();
    assert!(
        matches!(err, Error::Download { .. }) && err.to_string().contains(&url),
        "{err}"
    );
    assert!(listing(dir.path()).is_empty());
}
