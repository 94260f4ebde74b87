//! Any decoded image as 8-bit RGB, as PIL's `Image.open(f).convert("RGB")`
//! gives it (what torchvision's data sets and examples feed `Resize`).

use image::{DynamicImage, RgbImage};

/// The image as 8-bit RGB, as PIL converts it: grey replicated into the
/// three channels, alpha dropped (not blended), a palette looked up (the
/// decoder expands it), 16-bit colour to its high byte. One PIL quirk is
/// kept on purpose, for the same pixels as torchvision: PIL reads a 16-bit
/// greyscale PNG as mode `I;16` and its conversion to RGB saturates, so a
/// grey value above 255 becomes 255.
///
/// ```
/// use image::{DynamicImage, ImageBuffer, Rgb};
/// use nabla::data::imagenet::to_rgb_like_pil;
/// let grey16 = DynamicImage::ImageLuma16(ImageBuffer::from_raw(2, 1, vec![200u16, 4000]).unwrap());
/// assert_eq!(to_rgb_like_pil(&grey16).into_raw(), [200, 200, 200, 255, 255, 255]);
/// let rgb16 = DynamicImage::ImageRgb16(ImageBuffer::from_raw(1, 1, vec![0x12ffu16, 0x3400, 0xffff]).unwrap());
/// assert_eq!(to_rgb_like_pil(&rgb16).get_pixel(0, 0), &Rgb([0x12, 0x34, 0xff]));
/// // A transparent pixel keeps its colour (PIL drops alpha, it does not blend).
/// let rgba = DynamicImage::ImageRgba8(ImageBuffer::from_raw(1, 1, vec![10u8, 20, 30, 0]).unwrap());
/// assert_eq!(to_rgb_like_pil(&rgba).get_pixel(0, 0), &Rgb([10, 20, 30]));
/// let grey_alpha = DynamicImage::ImageLumaA8(ImageBuffer::from_raw(1, 1, vec![77u8, 128]).unwrap());
/// assert_eq!(to_rgb_like_pil(&grey_alpha).get_pixel(0, 0), &Rgb([77, 77, 77]));
/// ```
pub fn to_rgb_like_pil(image: &DynamicImage) -> RgbImage {
    let (width, height) = (image.width(), image.height());
    let grey = |values: Vec<u8>| -> RgbImage {
        let raw = values.into_iter().flat_map(|v| [v, v, v]).collect();
        RgbImage::from_raw(width, height, raw).expect("one value per pixel")
    };
    let high_byte = |values: &[u16], channels: usize, grey_input: bool| -> RgbImage {
        let raw = values
            .chunks_exact(channels)
            .flat_map(|px| {
                let byte = |v: u16| (v >> 8) as u8;
                if grey_input {
                    [byte(px[0]); 3]
                } else {
                    [byte(px[0]), byte(px[1]), byte(px[2])]
                }
            })
            .collect();
        RgbImage::from_raw(width, height, raw).expect("one value per pixel")
    };
    match image {
        DynamicImage::ImageRgb8(rgb) => rgb.clone(),
        DynamicImage::ImageLuma8(luma) => grey(luma.as_raw().clone()),
        DynamicImage::ImageLumaA8(la) => grey(la.as_raw().chunks_exact(2).map(|p| p[0]).collect()),
        DynamicImage::ImageLuma16(luma) => grey(luma.as_raw().iter().map(|&v| v.min(255) as u8).collect()),
        DynamicImage::ImageLumaA16(la) => high_byte(la.as_raw(), 2, true),
        DynamicImage::ImageRgb16(rgb) => high_byte(rgb.as_raw(), 3, false),
        DynamicImage::ImageRgba16(rgba) => high_byte(rgba.as_raw(), 4, false),
        // RGBA drops its alpha; float images (which PNG and JPEG never
        // decode to) take the `image` crate's conversion.
        other => other.to_rgb8(),
    }
}
