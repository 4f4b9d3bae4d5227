namespace Harness.Torch;

public static partial class torch
{
    /// <summary>Linear algebra, as torch.linalg.</summary>
    public static class linalg
    {
        private static readonly Op s_solve = new("aten::linalg_solve");

        /// <summary>X with A X = B (A square, batched like PyTorch).</summary>
        public static Tensor solve(Tensor A, Tensor B) => s_solve.Call(A, B);
    }
}
