using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Patches;

/// <summary>
/// The patch operator A_{s,ω} = C ∘ T_s ∘ Z ∘ P_ω of eqs. (18)–(19) and its adjoint (CONVENTIONS §4):
/// Z zero-pads the L×L projection to 2L×2L (zeros right and bottom), T_s shifts circularly, C keeps the
/// first L×L block. With images [y, x]:
/// patch[y, x] = (Z P)[(y + s_y) mod 2L, (x + s_x) mod 2L], s_x, s_y ∈ {0..2L−1}. Any s with s_x = L or
/// s_y = L gives an empty patch. <see cref="ExplicitMatrix"/> builds A as a dense matrix: a brute-force
/// reference for tests (slow by design).
/// </summary>
public static class PatchOperator
{
    private static void Check(int L, int sx, int sy)
    {
        if (L < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(L));
        }
        if (sx < 0 || sx >= 2 * L)
        {
            throw new ArgumentOutOfRangeException(nameof(sx), sx, $"The shift s_x must be in 0..{2 * L - 1} for L = {L}.");
        }
        if (sy < 0 || sy >= 2 * L)
        {
            throw new ArgumentOutOfRangeException(nameof(sy), sy, $"The shift s_y must be in 0..{2 * L - 1} for L = {L}.");
        }
    }

    /// <summary>The shift check, then both L×L images' lengths.</summary>
    private static void Check(int L, int sx, int sy, int imageLength, int patchLength)
    {
        Check(L, sx, sy);
        if (imageLength != L * L || patchLength != L * L)
        {
            throw new ArgumentException($"Image and patch must have {L * L} pixels.");
        }
    }

    /// <summary>
    /// The pixels of eq. (19) that carry signal: (patch index y·L + x, projection index yy·L + xx) with
    /// yy = (y + s_y) mod 2L &lt; L and xx = (x + s_x) mod 2L &lt; L, in patch order. Every other patch pixel is 0.
    /// </summary>
    private static IEnumerable<(int Patch, int Image)> Correspondence(int L, int sx, int sy)
    {
        for (int y = 0; y < L; y++)
        {
            int yy = (y + sy) % (2 * L);
            if (yy >= L)
            {
                continue;
            }

            for (int x = 0; x < L; x++)
            {
                int xx = (x + sx) % (2 * L);
                if (xx < L)
                {
                    yield return (y * L + x, yy * L + xx);
                }
            }
        }
    }

    /// <summary>patch = C T_s Z image (both L×L, [y, x]).</summary>
    public static void Apply(ReadOnlySpan<double> image, int size, int sx, int sy, Span<double> patch)
    {
        int L = size;
        Check(L, sx, sy, image.Length, patch.Length);

        patch.Clear();
        foreach (var (patchIndex, imageIndex) in Correspondence(L, sx, sy))
        {
            patch[patchIndex] = image[imageIndex];
        }
    }

    /// <summary>image = (C T_s Z)ᵀ patch: the adjoint (zero-pad the patch, shift back, crop).</summary>
    public static void Adjoint(ReadOnlySpan<double> patch, int size, int sx, int sy, Span<double> image)
    {
        int L = size;
        Check(L, sx, sy, image.Length, patch.Length);

        image.Clear();
        foreach (var (patchIndex, imageIndex) in Correspondence(L, sx, sy))
        {
            image[imageIndex] += patch[patchIndex];
        }
    }

    /// <summary>A_{s,ω}·p for a linear model: the patch of the projection at rotation <paramref name="r"/>.</summary>
    public static void Apply(ILinearProjectionModel model, Rotation r, int sx, int sy, ReadOnlySpan<double> parameters, Span<double> patch)
    {
        var A = ExplicitMatrix(model, r, sx, sy);
        int L = model.ImageSize, n = model.ParameterCount;
        if (parameters.Length != n)
        {
            throw new ArgumentException($"Expected {n} parameters.", nameof(parameters));
        }
        for (int i = 0; i < L * L; i++)
        {
            double sum = 0;
            for (int j = 0; j < n; j++)
            {
                sum += A[i * n + j] * parameters[j];
            }
            patch[i] = sum;
        }
    }

    /// <summary>A_{s,ω}ᵀ·patch for a linear model (length n).</summary>
    public static double[] Adjoint(ILinearProjectionModel model, Rotation r, int sx, int sy, ReadOnlySpan<double> patch)
    {
        var A = ExplicitMatrix(model, r, sx, sy);
        int L = model.ImageSize, n = model.ParameterCount;
        if (patch.Length != L * L)
        {
            throw new ArgumentException($"Expected {L * L} pixels.", nameof(patch));
        }
        var result = new double[n];
        for (int i = 0; i < L * L; i++)
        {
            double v = patch[i];
            if (v != 0)
            {
                for (int j = 0; j < n; j++)
                {
                    result[j] += A[i * n + j] * v;
                }
            }
        }
        return result;
    }

    /// <summary>
    /// The L²×n row-major matrix of A_{s,ω} = C T_s Z B(R): row y·L + x of the patch is row
    /// ((y+s_y) mod 2L)·L + (x+s_x) mod 2L of B(R) when both indices are &lt; L, and zero otherwise.
    /// </summary>
    public static double[] ExplicitMatrix(ILinearProjectionModel model, Rotation r, int sx, int sy)
    {
        ArgumentNullException.ThrowIfNull(model);
        int L = model.ImageSize, n = model.ParameterCount;
        Check(L, sx, sy);
        var B = new double[L * L * n];
        model.ProjectionMatrix(r, B);
        var A = new double[L * L * n];
        foreach (var (patchIndex, imageIndex) in Correspondence(L, sx, sy))
        {
            Array.Copy(B, imageIndex * n, A, patchIndex * n, n);
        }

        return A;
    }
}
