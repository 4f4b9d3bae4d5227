using Harness.Torch;
using Harness.Torch.Serialization;

namespace Harness.Tests.Serialization;

public class StoredTensorTests
{
    private static StoredStorage Int16Storage(int count) =>
        new("s", ScalarType.Int16, Enumerable.Range(0, count).SelectMany(i => BitConverter.GetBytes((short)i)).ToArray());

    private static short[] Values(byte[] bytes) => Enumerable.Range(0, bytes.Length / 2).Select(i => BitConverter.ToInt16(bytes, i * 2)).ToArray();

    [Fact]
    public void Gathers_an_offset_strided_view_in_row_major_order()
    {
        // Storage 0..11 as a 3x4 matrix; view rows 1..2, columns 1 and 3 => [[5, 7], [9, 11]].
        var view = new StoredTensor(ScalarType.Int16, [2, 2], [4, 2], 5, Int16Storage(12));
        Assert.False(view.IsContiguous);
        Assert.Null(view.DescribeLayoutProblem());
        Assert.Equal(new short[] { 5, 7, 9, 11 }, Values(view.ToContiguousBytes()));
    }

    [Fact]
    public void Handles_broadcast_zero_strides_scalars_and_empty_tensors()
    {
        var broadcast = new StoredTensor(ScalarType.Int16, [2, 3], [0, 1], 1, Int16Storage(4));
        Assert.Equal(new short[] { 1, 2, 3, 1, 2, 3 }, Values(broadcast.ToContiguousBytes()));

        var scalar = new StoredTensor(ScalarType.Int16, [], [], 3, Int16Storage(4));
        Assert.True(scalar.IsContiguous);
        Assert.Equal(new short[] { 3 }, Values(scalar.ToContiguousBytes()));

        var empty = new StoredTensor(ScalarType.Int16, [0, 5], [7, 1], 0, Int16Storage(0));
        Assert.True(empty.IsContiguous);
        Assert.Empty(empty.ToContiguousBytes());
    }

    [Fact]
    public void Size_one_dimensions_may_have_any_stride_and_stay_contiguous()
    {
        var t = new StoredTensor(ScalarType.Int16, [1, 3], [99, 1], 1, Int16Storage(4));
        Assert.True(t.IsContiguous);
        Assert.Equal(new short[] { 1, 2, 3 }, Values(t.ToContiguousBytes()));
    }

    [Theory]
    [InlineData(new long[] { 3 }, new long[] { 2 }, 0L, "reaches element 4")]
    [InlineData(new long[] { 2 }, new long[] { 1 }, 3L, "reaches element 4")]
    [InlineData(new long[] { 2 }, new long[] { -1 }, 1L, "negative stride")]
    [InlineData(new long[] { 2, 2 }, new long[] { 1 }, 0L, "dimensions")]
    [InlineData(new long[] { long.MaxValue, 2 }, new long[] { long.MaxValue, 1 }, 0L, "overflows")]
    public void Describes_views_that_do_not_fit_their_storage(long[] shape, long[] strides, long offset, string problem)
    {
        var t = new StoredTensor(ScalarType.Int16, shape, strides, offset, Int16Storage(4));
        Assert.Contains(problem, t.DescribeLayoutProblem());
        Assert.Throws<InvalidOperationException>(() => t.ToContiguousBytes());
    }

    [Fact]
    public void Contiguous_checks_the_byte_count()
    {
        Assert.Throws<ArgumentException>(() => StoredTensor.Contiguous(ScalarType.Float32, [2, 2], new byte[15]));
        var t = StoredTensor.Contiguous(ScalarType.Float32, [2, 2], new byte[16]);
        Assert.Equal(new long[] { 2, 1 }, t.Strides);
        Assert.True(t.IsContiguous);
    }
}
