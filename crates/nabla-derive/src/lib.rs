//! `#[derive(Module)]` for nabla, re-exported as `nabla::nn::Module` beside
//! the trait (see that trait's documentation for the rules and examples).
//!
//! The macro reads each field's type and writes the `Module` impl from it,
//! so a parameter or submodule cannot be left out of the tree:
//!
//! - `Tensor<..>` is a parameter, `Option<Tensor<..>>` an optional one,
//!   `Vec<Tensor<..>>` a list named `field.0`, `field.1`, ...;
//! - `#[module(buffer)]` makes such a field a buffer, `#[module(skip)]`
//!   ignores a field, `#[module(training)]` marks the `bool` that
//!   train/eval sets;
//! - plain data (numbers, `bool`, `char`, `String`, `PhantomData`, the
//!   element type itself, and options, tuples, arrays and `Vec`s of those)
//!   is skipped;
//! - every other field is a child module: `Vec<M>` and `[M; N]` are named
//!   `field.0`, ..., `Option<M>` is a child when present. A field whose type
//!   is not a `Module` does not compile.
//!
//! It also implements `Summarize` with its defaults (unless the struct says
//! `#[module(custom_summary)]`) and, for structs generic over their element
//! type, `ToDtype`.

mod fields;

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{parse_macro_input, DeriveInput, GenericParam, Ident};

use fields::{Field, Kind, Shape};

/// Derives `nabla::nn::Module` (and `Summarize`, and `ToDtype` where the
/// struct is generic over its element type).
#[proc_macro_derive(Module, attributes(module))]
pub fn derive_module(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The element type the impls are for.
enum Element {
    /// The struct's own type parameter bounded by `Float`.
    Param(Ident),
    /// Every element type: the struct holds no tensors and no modules.
    Any(Ident),
    /// `f32`: a non-generic struct with tensors or modules.
    F32,
}

fn expand(input: &DeriveInput) -> syn::Result<Tokens> {
    let syn::Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            input.ident.span(),
            "#[derive(Module)] needs a struct",
        ));
    };
    let custom_summary = fields::struct_flag(&input.attrs, "custom_summary")?;
    let float_param = fields::float_param(&input.generics);
    let fields = fields::classify(&data.fields, float_param.as_ref())?;
    let holds_state = fields
        .iter()
        .any(|f| matches!(f.kind, Kind::Parameter(_) | Kind::Buffer(_) | Kind::Child(_)));
    let element = match float_param {
        Some(t) => Element::Param(t),
        None if !holds_state => {
            let taken = |name: &str| input.generics.type_params().any(|p| p.ident == name);
            Element::Any(format_ident!("{}", if taken("T") { "__NablaFloat" } else { "T" }))
        }
        None => Element::F32,
    };

    let name = &input.ident;
    let mut impl_generics = input.generics.clone();
    if let Element::Any(t) = &element {
        impl_generics.params.push(syn::parse_quote!(#t: ::nabla::Float));
    }
    let (impl_generics, _, where_clause) = impl_generics.split_for_impl();
    let (_, ty_generics, _) = input.generics.split_for_impl();
    let t = match &element {
        Element::Param(t) | Element::Any(t) => quote!(#t),
        Element::F32 => quote!(f32),
    };

    let module = module_body(&fields, &t);
    let mut out = quote! {
        impl #impl_generics ::nabla::nn::Module<#t> for #name #ty_generics #where_clause {
            #module
        }
    };
    if !custom_summary {
        out.extend(quote! {
            impl #impl_generics ::nabla::nn::Summarize<#t> for #name #ty_generics #where_clause {}
        });
    }
    out.extend(to_dtype(input, &data.fields, &fields, &element));
    Ok(out)
}

/// The bodies of `own_parameters`, `own_buffers`, `children`,
/// `children_mut` and, with a `#[module(training)]` field, the training flag.
fn module_body(fields: &[Field], t: &Tokens) -> Tokens {
    let tensors = |buffers: bool| {
        let pushes = fields.iter().filter_map(|f| match (&f.kind, buffers) {
            (Kind::Parameter(shape), false) | (Kind::Buffer(shape), true) => Some(push_tensors(f, *shape)),
            _ => None,
        });
        quote! {
            let mut out: ::std::vec::Vec<(::std::string::String, ::nabla::Tensor<#t>)> = ::std::vec::Vec::new();
            #(#pushes)*
            out
        }
    };
    let own_parameters = tensors(false);
    let own_buffers = tensors(true);
    let children = push_children(fields, t, false);
    let children_mut = push_children(fields, t, true);
    let training = fields.iter().find(|f| matches!(f.kind, Kind::Training)).map(|f| {
        let access = &f.access;
        quote! {
            fn set_own_training(&mut self, training: bool) {
                self.#access = training;
            }

            fn is_training(&self) -> bool {
                self.#access
            }
        }
    });
    quote! {
        fn own_parameters(&self) -> ::std::vec::Vec<(::std::string::String, ::nabla::Tensor<#t>)> {
            #own_parameters
        }

        fn own_buffers(&self) -> ::std::vec::Vec<(::std::string::String, ::nabla::Tensor<#t>)> {
            #own_buffers
        }

        fn children(&self) -> ::std::vec::Vec<(::std::string::String, &dyn ::nabla::nn::Module<#t>)> {
            #children
        }

        fn children_mut(&mut self) -> ::std::vec::Vec<(::std::string::String, &mut dyn ::nabla::nn::Module<#t>)> {
            #children_mut
        }

        #training
    }
}

fn push_tensors(field: &Field, shape: Shape) -> Tokens {
    let (access, name) = (&field.access, &field.name);
    match shape {
        Shape::One => quote! {
            out.push((::std::string::String::from(#name), ::core::clone::Clone::clone(&self.#access)));
        },
        Shape::Optional => quote! {
            if let ::core::option::Option::Some(t) = &self.#access {
                out.push((::std::string::String::from(#name), ::core::clone::Clone::clone(t)));
            }
        },
        Shape::List | Shape::Array => quote! {
            for (i, t) in self.#access.iter().enumerate() {
                out.push((::std::format!("{}.{}", #name, i), ::core::clone::Clone::clone(t)));
            }
        },
    }
}

/// `children` (or `children_mut`): each child field as `&dyn Module<T>`,
/// spanned at the field's type so that a type that is not a module is
/// reported there.
fn push_children(fields: &[Field], t: &Tokens, mutable: bool) -> Tokens {
    let reference = if mutable { quote!(&mut) } else { quote!(&) };
    let iter = if mutable { quote!(iter_mut) } else { quote!(iter) };
    let view = if mutable {
        quote!(__child_mut)
    } else {
        quote!(__child)
    };
    let pushes = fields.iter().filter_map(|f| {
        let Kind::Child(shape) = f.kind else {
            return None;
        };
        let (access, name, span) = (&f.access, &f.name, f.ty.span());
        Some(match shape {
            Shape::One => quote_spanned! {span=>
                out.push((::std::string::String::from(#name), ::nabla::nn::#view::<#t, _>(#reference self.#access)));
            },
            Shape::Optional => quote_spanned! {span=>
                if let ::core::option::Option::Some(child) = #reference self.#access {
                    out.push((::std::string::String::from(#name), ::nabla::nn::#view::<#t, _>(child)));
                }
            },
            Shape::List | Shape::Array => quote_spanned! {span=>
                for (i, child) in self.#access.#iter().enumerate() {
                    out.push((::std::format!("{}.{}", #name, i), ::nabla::nn::#view::<#t, _>(child)));
                }
            },
        })
    });
    quote! {
        let mut out: ::std::vec::Vec<(::std::string::String, #reference dyn ::nabla::nn::Module<#t>)> = ::std::vec::Vec::new();
        #(#pushes)*
        out
    }
}

/// `ToDtype`, for a struct whose only type parameter is its element type
/// (`Output<U>` is the struct over `U`) or that holds no state (`Output<U>`
/// is the struct itself). Left out where a field cannot be converted: a
/// boxed trait object, or plain data that mentions the element type other
/// than as itself or `PhantomData`.
fn to_dtype(input: &DeriveInput, style: &syn::Fields, fields: &[Field], element: &Element) -> Tokens {
    let name = &input.ident;
    let type_params = input
        .generics
        .params
        .iter()
        .filter(|p| !matches!(p, GenericParam::Lifetime(_)))
        .count();
    let u = format_ident!("__NablaTarget");
    let output = match element {
        Element::Param(_) if type_params == 1 && input.generics.lifetimes().next().is_none() => {
            quote!(#name<#u>)
        }
        Element::Any(_) if input.generics.params.is_empty() => quote!(#name),
        _ => return Tokens::new(),
    };
    let t = match element {
        Element::Param(t) => Some(t),
        _ => None,
    };
    let mut values = Vec::new();
    for f in fields {
        match fields::convert(f, t, &u) {
            Some(value) => values.push(value),
            None => return Tokens::new(),
        }
    }
    let construct = match style {
        syn::Fields::Named(_) => {
            let names = fields.iter().map(|f| &f.access);
            quote!(#name { #(#names: #values),* })
        }
        syn::Fields::Unnamed(_) => quote!(#name ( #(#values),* )),
        syn::Fields::Unit => quote!(#name),
    };
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        impl #impl_generics ::nabla::nn::ToDtype for #name #ty_generics #where_clause {
            type Output<#u: ::nabla::Float> = #output;

            fn to_dtype<#u: ::nabla::Float>(&self) -> #output {
                #construct
            }
        }
    }
}
