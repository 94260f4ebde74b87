//! Every misuse of shapes panics with a message that names the op and the
//! shapes involved (see the crate docs: "no op returns a silently wrong
//! answer").

use nabla::autograd::{grad, grad_with};
use nabla::{IndexTensor, Tensor};

fn zeros(shape: &[usize]) -> Tensor<f64> {
    Tensor::zeros(shape)
}

fn ones(shape: &[usize]) -> Tensor<f64> {
    Tensor::ones(shape)
}

/// `#[test] #[should_panic(expected = ...)]` around a body.
macro_rules! panics {
    ($(#[$meta:meta])* $name:ident, $expected:literal, $body:block) => {
        #[test]
        $(#[$meta])*
        #[should_panic(expected = $expected)]
        fn $name() $body
    };
}

// ---------------------------------------------------------------------------
// Broadcasting
// ---------------------------------------------------------------------------

panics!(
    add_incompatible,
    "add: shapes [2, 3] and [3, 2] cannot be broadcast together",
    {
        zeros(&[2, 3]).add(&zeros(&[3, 2]));
    }
);

panics!(
    add_operator_incompatible,
    "add: shapes [2, 3] and [3, 2] cannot be broadcast together",
    {
        let _ = &zeros(&[2, 3]) + &zeros(&[3, 2]);
    }
);

panics!(
    sub_incompatible,
    "sub: shapes [4] and [3] cannot be broadcast together",
    {
        let _ = zeros(&[4]) - zeros(&[3]);
    }
);

panics!(
    mul_same_numel_incompatible,
    "mul: shapes [2, 3] and [6] cannot be broadcast together",
    {
        let _ = &zeros(&[2, 3]) * &zeros(&[6]);
    }
);

panics!(
    div_incompatible,
    "div: shapes [2, 3, 4] and [2, 4] cannot be broadcast together",
    {
        let _ = zeros(&[2, 3, 4]) / &ones(&[2, 4]);
    }
);

panics!(
    pow_incompatible,
    "pow: shapes [3] and [2] cannot be broadcast together",
    {
        ones(&[3]).pow(&ones(&[2]));
    }
);

panics!(
    maximum_incompatible,
    "maximum: shapes [2, 2] and [3, 1] cannot be broadcast together",
    {
        zeros(&[2, 2]).maximum(&zeros(&[3, 1]));
    }
);

panics!(
    minimum_incompatible,
    "minimum: shapes [5] and [4] cannot be broadcast together",
    {
        zeros(&[5]).minimum(&zeros(&[4]));
    }
);

panics!(
    comparison_incompatible,
    "gt: shapes [2, 3] and [3, 2] cannot be broadcast together",
    {
        zeros(&[2, 3]).gt(&zeros(&[3, 2]));
    }
);

panics!(
    eq_incompatible,
    "eq: shapes [2] and [3] cannot be broadcast together",
    {
        zeros(&[2]).eq(&zeros(&[3]));
    }
);

panics!(
    non_contiguous_incompatible,
    "add: shapes [3, 2] and [3] cannot be broadcast together",
    {
        zeros(&[2, 3]).t().add(&zeros(&[3]));
    }
);

panics!(
    where_incompatible,
    "where: shapes [2, 3], [3, 2] and [2] cannot be broadcast together",
    {
        Tensor::where_(&zeros(&[2, 3]), &zeros(&[3, 2]), &zeros(&[2]));
    }
);

panics!(
    expand_incompatible,
    "expand: shape [2, 3] cannot be broadcast to [4, 3]",
    {
        zeros(&[2, 3]).expand(&[4, 3]);
    }
);

panics!(
    expand_to_lower_rank,
    "expand: shape [2, 3] cannot be broadcast to [3]",
    {
        zeros(&[2, 3]).expand(&[3]);
    }
);

panics!(broadcast_to_incompatible, "cannot be broadcast to [2, 4]", {
    zeros(&[3]).broadcast_to(&[2, 4]);
});

panics!(sum_to_incompatible, "sum_to: cannot reduce [2, 3] to [4]", {
    zeros(&[2, 3]).sum_to(&[4]);
});

panics!(
    sum_to_larger_rank,
    "sum_to: cannot reduce [3] to the larger rank of [2, 3]",
    {
        zeros(&[3]).sum_to(&[2, 3]);
    }
);

// ---------------------------------------------------------------------------
// Matrix products
// ---------------------------------------------------------------------------

panics!(
    matmul_inner_mismatch,
    "matmul: cannot multiply [2, 3] by [4, 5]",
    {
        zeros(&[2, 3]).matmul(&zeros(&[4, 5]));
    }
);

panics!(
    matmul_vector_vector_mismatch,
    "matmul: cannot multiply [3] by [4]",
    {
        zeros(&[3]).matmul(&zeros(&[4]));
    }
);

panics!(
    matmul_vector_matrix_mismatch,
    "matmul: cannot multiply [3] by [4, 5]",
    {
        zeros(&[3]).matmul(&zeros(&[4, 5]));
    }
);

panics!(
    matmul_matrix_vector_mismatch,
    "matmul: cannot multiply [2, 3] by [4]",
    {
        zeros(&[2, 3]).matmul(&zeros(&[4]));
    }
);

panics!(
    matmul_batched_inner_mismatch,
    "matmul: cannot multiply [2, 3, 4] by [2, 5, 6]",
    {
        zeros(&[2, 3, 4]).matmul(&zeros(&[2, 5, 6]));
    }
);

panics!(
    matmul_batch_mismatch,
    "matmul: batch dimensions of [2, 3, 4] and [5, 4, 2] do not broadcast",
    {
        zeros(&[2, 3, 4]).matmul(&zeros(&[5, 4, 2]));
    }
);

panics!(
    matmul_zero_dimensional,
    "matmul: cannot multiply [] by [3]: both operands need at least one dimension",
    {
        Tensor::scalar(1.0f64).matmul(&zeros(&[3]));
    }
);

panics!(
    matmul_non_contiguous_mismatch,
    "matmul: cannot multiply [3, 2] by [3, 2]",
    {
        zeros(&[2, 3]).t().matmul(&zeros(&[3, 2]));
    }
);

// ---------------------------------------------------------------------------
// Shape ops
// ---------------------------------------------------------------------------

panics!(
    reshape_size_mismatch,
    "reshape: cannot reshape [2, 3] (6 elements) to [4]",
    {
        zeros(&[2, 3]).reshape(&[4]);
    }
);

panics!(
    reshape_of_view_size_mismatch,
    "reshape: cannot reshape [3, 2] (6 elements) to [2, 2]",
    {
        zeros(&[2, 3]).t().reshape(&[2, 2]);
    }
);

panics!(
    flatten_reversed,
    "flatten: start dimension 2 comes after end dimension 0",
    {
        zeros(&[2, 3, 4]).flatten(2, 0);
    }
);

panics!(
    transpose_dim_out_of_range,
    "transpose: dimension 2 is out of range for a tensor of rank 2",
    {
        zeros(&[2, 3]).transpose(0, 2);
    }
);

panics!(
    transpose_negative_dim_out_of_range,
    "transpose: dimension -3 is out of range for a tensor of rank 2",
    {
        zeros(&[2, 3]).transpose(-3, 1);
    }
);

panics!(t_of_3d, "t: expects a 2-D tensor, got shape [2, 3, 4]", {
    zeros(&[2, 3, 4]).t();
});

panics!(t_of_1d, "t: expects a 2-D tensor, got shape [3]", {
    zeros(&[3]).t();
});

panics!(
    permute_repeated_dim,
    "permute: [0, 0] is not a permutation of the 2 dimensions of [2, 3]",
    {
        zeros(&[2, 3]).permute(&[0, 0]);
    }
);

panics!(
    permute_wrong_length,
    "permute: [1, 0] is not a permutation of the 3 dimensions of [2, 3, 4]",
    {
        zeros(&[2, 3, 4]).permute(&[1, 0]);
    }
);

panics!(
    squeeze_non_unit,
    "squeeze: dimension 0 of [2, 3] has size 2, not 1",
    {
        zeros(&[2, 3]).squeeze(0);
    }
);

panics!(
    squeeze_out_of_range,
    "squeeze: dimension 2 is out of range for a tensor of rank 2",
    {
        zeros(&[2, 1]).squeeze(2);
    }
);

panics!(
    unsqueeze_out_of_range,
    "unsqueeze: dimension 4 is out of range for a tensor of rank 2",
    {
        zeros(&[2, 3]).unsqueeze(4);
    }
);

panics!(
    unsqueeze_out_of_range_names_op,
    "unsqueeze: dimension 4 is out of range",
    {
        zeros(&[2, 3]).unsqueeze(4);
    }
);

panics!(
    narrow_out_of_range,
    "narrow: 1..4 is out of range for dimension 1 of size 3 (shape [2, 3])",
    {
        zeros(&[2, 3]).narrow(1, 1, 3);
    }
);

panics!(
    narrow_dim_out_of_range,
    "narrow: dimension 2 is out of range for a tensor of rank 2",
    {
        zeros(&[2, 3]).narrow(2, 0, 1);
    }
);

panics!(
    slice_out_of_range,
    "1..5 is out of range for dimension 0 of size 4 (shape [4])",
    {
        zeros(&[4]).slice(0, 1..5);
    }
);

panics!(slice_reversed, "slice: empty-reversed range 3..1", {
    let (start, end) = (3, 1);
    zeros(&[4]).slice(0, start..end);
});

panics!(
    select_out_of_range,
    "2..3 is out of range for dimension 0 of size 2 (shape [2, 3])",
    {
        zeros(&[2, 3]).select(0, 2);
    }
);

// ---------------------------------------------------------------------------
// Reductions and activations
// ---------------------------------------------------------------------------

panics!(
    sum_dims_out_of_range,
    "sum: dimension 3 is out of range for a tensor of rank 2",
    {
        zeros(&[2, 3]).sum_dims(&[3], false);
    }
);

panics!(
    mean_dims_out_of_range,
    "mean: dimension -3 is out of range for a tensor of rank 2",
    {
        zeros(&[2, 3]).mean_dims(&[-3], true);
    }
);

panics!(
    var_dims_out_of_range,
    "var: dimension 2 is out of range for a tensor of rank 2",
    {
        zeros(&[2, 3]).var_dims(&[2], 1, false);
    }
);

panics!(
    softmax_dim_out_of_range,
    "softmax: dimension 2 is out of range for a tensor of rank 2",
    {
        zeros(&[2, 3]).softmax(2);
    }
);

panics!(
    log_softmax_dim_out_of_range,
    "log_softmax: dimension -4 is out of range for a tensor of rank 3",
    {
        zeros(&[2, 3, 4]).log_softmax(-4);
    }
);

panics!(
    argmax_dim_out_of_range,
    "argmax: dimension 1 is out of range for a tensor of rank 1",
    {
        zeros(&[3]).argmax(1, false);
    }
);

panics!(max_of_empty, "max: the tensor of shape [0] is empty", {
    zeros(&[0]).max();
});

panics!(min_of_empty, "min: the tensor of shape [2, 0] is empty", {
    zeros(&[2, 0]).min();
});

panics!(
    argmax_along_empty_dim,
    "argmax: dimension 1 of [2, 0] is empty",
    {
        zeros(&[2, 0]).argmax(1, false);
    }
);

// ---------------------------------------------------------------------------
// Joining and indexing
// ---------------------------------------------------------------------------

panics!(
    cat_mismatch,
    "cat: shapes [2, 3] and [2, 4] differ outside dimension 0",
    {
        Tensor::cat(&[&zeros(&[2, 3]), &zeros(&[2, 4])], 0);
    }
);

panics!(
    cat_rank_mismatch,
    "cat: shapes [2, 3] and [3] differ outside dimension 1",
    {
        Tensor::cat(&[&zeros(&[2, 3]), &zeros(&[3])], 1);
    }
);

panics!(cat_empty, "cat: needs at least one tensor", {
    Tensor::<f64>::cat(Vec::<Tensor<f64>>::new(), 0);
});

panics!(
    cat_dim_out_of_range,
    "cat: dimension 2 is out of range for a tensor of rank 2",
    {
        Tensor::cat(&[&zeros(&[2, 3]), &zeros(&[2, 3])], 2);
    }
);

panics!(stack_mismatch, "stack: shapes [2, 3] and [3, 2] differ", {
    Tensor::stack(&[&zeros(&[2, 3]), &zeros(&[3, 2])], 0);
});

panics!(stack_empty, "stack: needs at least one tensor", {
    Tensor::<f64>::stack(Vec::<Tensor<f64>>::new(), 0);
});

panics!(
    index_select_out_of_range,
    "index_select: index 3 is out of range for dimension 0 of size 3 (shape [3, 2])",
    {
        zeros(&[3, 2]).index_select(0, &IndexTensor::from([0, 3]));
    }
);

panics!(
    index_add_out_of_range,
    "index_add: index 5 is out of range for dimension 0 of size 3",
    {
        zeros(&[3, 2]).index_add(0, &IndexTensor::from([5]), &zeros(&[1, 2]));
    }
);

panics!(
    index_add_source_mismatch,
    "index_add: source of shape [2, 3] does not fit [3, 2] with 2 indices along 0",
    {
        zeros(&[3, 2]).index_add(0, &IndexTensor::from([0, 1]), &zeros(&[2, 3]));
    }
);

panics!(
    gather_index_out_of_range,
    "gather: index 3 is out of range for dimension 1 of size 3",
    {
        zeros(&[2, 3]).gather(1, &IndexTensor::from_vec(vec![0, 3], &[2, 1]));
    }
);

panics!(
    gather_index_too_large,
    "gather: index of shape [3, 1] does not fit input of shape [2, 2] along dimension 1",
    {
        zeros(&[2, 2]).gather(1, &IndexTensor::from_vec(vec![0, 1, 0], &[3, 1]));
    }
);

panics!(
    gather_index_rank_mismatch,
    "gather: index of shape [2] does not fit input of shape [2, 2] along dimension 0",
    {
        zeros(&[2, 2]).gather(0, &IndexTensor::from_vec(vec![0, 1], &[2]));
    }
);

panics!(
    scatter_add_source_mismatch,
    "scatter_add: source of shape [2, 2] does not match index of shape [2, 1]",
    {
        zeros(&[2, 3]).scatter_add(1, &IndexTensor::from_vec(vec![0, 1], &[2, 1]), &zeros(&[2, 2]));
    }
);

panics!(
    scatter_add_index_out_of_range,
    "scatter_add: index 4 is out of range for dimension 0 of size 2",
    {
        zeros(&[2, 3]).scatter_add(0, &IndexTensor::from_vec(vec![4], &[1, 1]), &zeros(&[1, 1]));
    }
);

// ---------------------------------------------------------------------------
// Construction and element access
// ---------------------------------------------------------------------------

panics!(
    from_vec_size_mismatch,
    "from_vec: 5 elements cannot have shape [2, 3]",
    {
        Tensor::from_vec(vec![0.0f64; 5], &[2, 3]);
    }
);

panics!(
    index_tensor_size_mismatch,
    "IndexTensor::from_vec: 3 indices cannot have shape [2, 2]",
    {
        IndexTensor::from_vec(vec![0, 1, 2], &[2, 2]);
    }
);

panics!(
    index_tensor_reshape_mismatch,
    "IndexTensor::reshape: cannot reshape [4] to [3]",
    {
        IndexTensor::from_vec(vec![0, 1, 2, 3], &[4]).reshape(&[3]);
    }
);

panics!(arange_zero_step, "arange: step 0 cannot go from 0 to 1", {
    Tensor::<f64>::arange(0.0, 1.0, 0.0);
});

panics!(arange_wrong_sign, "arange: step -1 cannot go from 0 to 5", {
    Tensor::<f64>::arange(0.0, 5.0, -1.0);
});

panics!(
    item_of_multi_element,
    "item: only a one-element tensor has an item, this one has shape [2, 3]",
    {
        zeros(&[2, 3]).item();
    }
);

panics!(
    item_of_empty,
    "item: only a one-element tensor has an item, this one has shape [0]",
    {
        zeros(&[0]).item();
    }
);

panics!(
    at_out_of_bounds,
    "at: index [2, 0] is out of bounds for shape [2, 3]",
    {
        zeros(&[2, 3]).at(&[2, 0]);
    }
);

panics!(
    at_wrong_rank,
    "at: index [1] is out of bounds for shape [2, 3]",
    {
        zeros(&[2, 3]).at(&[1]);
    }
);

panics!(
    size_out_of_range,
    "size: dimension 2 is out of range for a tensor of rank 2",
    {
        zeros(&[2, 3]).size(2);
    }
);

panics!(
    update_data_of_strided_view,
    "update_data: the tensor of shape [3, 2] is a strided view; update its base tensor",
    {
        zeros(&[2, 3]).t().update_data(|d| d.fill(1.0));
    }
);

panics!(
    copy_from_mismatch,
    "copy_from: cannot copy a tensor of shape [3] into one of shape [2]",
    {
        zeros(&[2]).copy_from(&zeros(&[3]));
    }
);

// ---------------------------------------------------------------------------
// Autograd misuse
// ---------------------------------------------------------------------------

panics!(
    backward_of_non_scalar,
    "backward: a gradient can be implied only for a one-element output, this one has shape [2, 3]; use backward_with",
    {
        let x = ones(&[2, 3]).requires_grad();
        x.mul_scalar(2.0).backward();
    }
);

panics!(
    backward_without_grad,
    "backward: the tensor of shape [] does not require grad and has no grad_fn",
    {
        zeros(&[3]).sum().backward();
    }
);

panics!(
    backward_with_wrong_shape,
    "backward: gradient of shape [3] for an output of shape [2]",
    {
        let x = ones(&[2]).requires_grad();
        x.exp().backward_with(&ones(&[3]));
    }
);

panics!(
    grad_of_non_scalar,
    "grad: a gradient can be implied only for one-element outputs, this one has shape [2]; use grad_with",
    {
        let x = ones(&[2]).requires_grad();
        let y = x.exp();
        grad(&[&y], &[&x], false);
    }
);

panics!(
    grad_with_count_mismatch,
    "grad_with: 1 outputs but 2 grad_outputs",
    {
        let x = ones(&[2]).requires_grad();
        let y = x.exp();
        grad_with(&[&y], &[&ones(&[2]), &ones(&[2])], &[&x], false, false);
    }
);

panics!(
    requires_grad_of_non_leaf,
    "requires_grad: only a leaf tensor can change requires_grad; this one comes from Mul",
    {
        let x = ones(&[2]).requires_grad();
        let _ = (&x * &x).requires_grad();
    }
);
