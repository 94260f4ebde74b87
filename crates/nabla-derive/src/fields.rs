//! What each field of a `#[derive(Module)]` struct is, read from its type
//! and its `#[module(...)]` attribute.

use proc_macro2::{TokenStream as Tokens, TokenTree};
use quote::{quote, ToTokens};
use syn::{
    Attribute, Fields, GenericArgument, Generics, Ident, Member, PathArguments, Type, TypeParamBound,
    WherePredicate,
};

/// Types that hold plain data, never tensors or modules.
const PLAIN: &[&str] = &[
    "bool",
    "char",
    "str",
    "String",
    "u8",
    "u16",
    "u32",
    "u64",
    "u128",
    "usize",
    "i8",
    "i16",
    "i32",
    "i64",
    "i128",
    "isize",
    "f32",
    "f64",
    "PhantomData",
];

/// How many tensors or modules a field holds.
#[derive(Clone, Copy)]
pub enum Shape {
    /// `X`.
    One,
    /// `Option<X>`: one when present.
    Optional,
    /// `Vec<X>`: named `field.0`, `field.1`, ...
    List,
    /// `[X; N]`, named as a list (modules only).
    Array,
}

/// What a field is in the module tree.
pub enum Kind {
    Parameter(Shape),
    Buffer(Shape),
    Child(Shape),
    /// The `bool` that train/eval sets.
    Training,
    /// Plain data or `#[module(skip)]`: not in the tree.
    Data,
}

pub struct Field {
    /// The state-dict name: the field's name or index.
    pub name: String,
    /// `self.<access>`.
    pub access: Member,
    pub ty: Type,
    pub kind: Kind,
}

/// The struct's type parameter bounded by `Float` (inline or in the where
/// clause), if any.
pub fn float_param(generics: &Generics) -> Option<Ident> {
    for param in generics.type_params() {
        if has_float_bound(&param.bounds) {
            return Some(param.ident.clone());
        }
    }
    let predicates = generics.where_clause.iter().flat_map(|w| &w.predicates);
    for predicate in predicates {
        if let WherePredicate::Type(p) = predicate {
            if let Type::Path(path) = &p.bounded_ty {
                if let Some(ident) = path.path.get_ident() {
                    if has_float_bound(&p.bounds) && generics.type_params().any(|t| &t.ident == ident) {
                        return Some(ident.clone());
                    }
                }
            }
        }
    }
    None
}

fn has_float_bound<'a>(bounds: impl IntoIterator<Item = &'a TypeParamBound>) -> bool {
    bounds
        .into_iter()
        .any(|b| matches!(b, TypeParamBound::Trait(t) if t.path.segments.last().is_some_and(|s| s.ident == "Float")))
}

/// Whether the struct carries `#[module(flag)]`; any other word in a
/// struct-level `#[module(...)]` is an error.
pub fn struct_flag(attrs: &[Attribute], flag: &str) -> syn::Result<bool> {
    let mut found = false;
    for attr in attrs.iter().filter(|a| a.path().is_ident("module")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident(flag) {
                found = true;
                Ok(())
            } else {
                Err(meta.error(format!("unknown #[module] option on a struct: expected `{flag}`")))
            }
        })?;
    }
    Ok(found)
}

/// Every field with its kind.
pub fn classify(fields: &Fields, float: Option<&Ident>) -> syn::Result<Vec<Field>> {
    fields
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let (name, access) = match &field.ident {
                Some(ident) => (
                    ident.to_string().trim_start_matches("r#").to_string(),
                    Member::Named(ident.clone()),
                ),
                None => (index.to_string(), Member::Unnamed(index.into())),
            };
            let kind = kind(&field.attrs, &field.ty, float)?;
            Ok(Field {
                name,
                access,
                ty: field.ty.clone(),
                kind,
            })
        })
        .collect()
}

fn kind(attrs: &[Attribute], ty: &Type, float: Option<&Ident>) -> syn::Result<Kind> {
    let mut marked = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("module")) {
        attr.parse_nested_meta(|meta| {
            for word in ["buffer", "skip", "training"] {
                if meta.path.is_ident(word) {
                    marked = Some(word);
                    return Ok(());
                }
            }
            Err(meta.error("unknown #[module] option on a field: expected `buffer`, `skip` or `training`"))
        })?;
    }
    Ok(match marked {
        Some("skip") => Kind::Data,
        Some("training") => Kind::Training,
        Some(_) => match tensor_shape(ty) {
            Some(shape) => Kind::Buffer(shape),
            None => {
                return Err(syn::Error::new_spanned(
                    ty,
                    "#[module(buffer)] needs a Tensor, Option<Tensor> or Vec<Tensor> field",
                ))
            }
        },
        None => match tensor_shape(ty) {
            Some(shape) => Kind::Parameter(shape),
            None if is_plain(ty, float) => Kind::Data,
            None => Kind::Child(child_shape(ty)),
        },
    })
}

/// The last path segment's name and its type arguments.
fn last_segment(ty: &Type) -> Option<(&Ident, Vec<&Type>)> {
    let Type::Path(path) = ty else {
        return None;
    };
    let segment = path.path.segments.last()?;
    let args = match &segment.arguments {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Some((&segment.ident, args))
}

fn is_tensor(ty: &Type) -> bool {
    last_segment(ty).is_some_and(|(ident, _)| ident == "Tensor")
}

fn tensor_shape(ty: &Type) -> Option<Shape> {
    let (ident, args) = last_segment(ty)?;
    if ident == "Tensor" {
        return Some(Shape::One);
    }
    let [inner] = args[..] else {
        return None;
    };
    match ident.to_string().as_str() {
        "Option" if is_tensor(inner) => Some(Shape::Optional),
        "Vec" if is_tensor(inner) => Some(Shape::List),
        _ => None,
    }
}

fn child_shape(ty: &Type) -> Shape {
    if let Type::Array(_) = ty {
        return Shape::Array;
    }
    match last_segment(ty) {
        Some((ident, args)) if args.len() == 1 && ident == "Vec" => Shape::List,
        Some((ident, args)) if args.len() == 1 && ident == "Option" => Shape::Optional,
        _ => Shape::One,
    }
}

/// Plain data: the listed types, the element type, and options, `Vec`s,
/// tuples, arrays and references of those.
fn is_plain(ty: &Type, float: Option<&Ident>) -> bool {
    match ty {
        Type::Path(path) if path.qself.is_none() => {
            if float.is_some_and(|t| path.path.is_ident(t)) {
                return true;
            }
            let Some((ident, args)) = last_segment(ty) else {
                return false;
            };
            if PLAIN.iter().any(|p| ident == p) {
                return true;
            }
            (ident == "Option" || ident == "Vec") && args.iter().all(|a| is_plain(a, float))
        }
        Type::Tuple(tuple) => tuple.elems.iter().all(|t| is_plain(t, float)),
        Type::Array(array) => is_plain(&array.elem, float),
        Type::Reference(reference) => is_plain(&reference.elem, float),
        Type::Paren(inner) => is_plain(&inner.elem, float),
        Type::Group(inner) => is_plain(&inner.elem, float),
        _ => false,
    }
}

fn mentions(tokens: Tokens, word: &str) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == word,
        TokenTree::Group(group) => mentions(group.stream(), word),
        _ => false,
    })
}

/// The field's value in the struct converted to element type `u`, or
/// `None` where it cannot be converted.
pub fn convert(field: &Field, float: Option<&Ident>, u: &Ident) -> Option<Tokens> {
    let access = &field.access;
    let ty = &field.ty;
    let cast = quote!(::nabla::nn::cast_parameter::<_, #u>);
    let to_dtype = quote!(::nabla::nn::ToDtype::to_dtype::<#u>);
    Some(match &field.kind {
        Kind::Parameter(shape) | Kind::Buffer(shape) => match shape {
            Shape::One => quote!(#cast(&self.#access)),
            Shape::Optional => quote!(self.#access.as_ref().map(#cast)),
            Shape::List | Shape::Array => quote!(self.#access.iter().map(#cast).collect()),
        },
        Kind::Child(_) if mentions(ty.to_token_stream(), "dyn") => return None,
        Kind::Child(shape) => match shape {
            Shape::One => quote!(#to_dtype(&self.#access)),
            Shape::Optional => quote!(self.#access.as_ref().map(|child| #to_dtype(child))),
            Shape::List => quote!(self.#access.iter().map(|child| #to_dtype(child)).collect()),
            Shape::Array => quote!(::core::array::from_fn(|i| #to_dtype(&self.#access[i]))),
        },
        Kind::Training | Kind::Data => match float {
            Some(t) if matches!(ty, Type::Path(p) if p.path.is_ident(t)) => {
                quote!(<#u as ::nabla::Float>::from_f64(::nabla::Float::as_f64(self.#access)))
            }
            _ if last_segment(ty).is_some_and(|(ident, _)| ident == "PhantomData") => {
                quote!(::core::marker::PhantomData)
            }
            Some(t) if mentions(ty.to_token_stream(), &t.to_string()) => return None,
            _ => quote!(::core::clone::Clone::clone(&self.#access)),
        },
    })
}
