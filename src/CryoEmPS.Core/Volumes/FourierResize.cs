using System.Numerics;
using CryoEmPS.Core.Native;

namespace CryoEmPS.Core.Volumes;

/// <summary>
/// Centred Fourier cropping (downsampling) and zero padding (upsampling), the standard cryo-EM resize,
/// in any dimension. Along each axis of source length n and target length L the centred DFT
/// (spatial origin at index floor(n/2), CONVENTIONS §4) keeps the frequencies |k| ≤ floor((min(n, L) − 1)/2):
/// for an even target the −L/2 Nyquist plane is zeroed (cropping), and for an even source its −n/2
/// plane is dropped (padding), so the kept spectrum is Hermitian and the result is real.
/// Values are scaled by L/n per axis after the normalised inverse DFT, i.e. the MEAN is preserved
/// (the recipe of ../shared/data's clean70SRibosome_vol_17p/_11p). The grid origin floor(n/2) maps to
/// floor(L/2); the voxel size scales by n/L.
/// The operator is separable, so it is applied axis by axis with 1-D FFTs (FFTW), in parallel over lines;
/// each line is computed independently, so results do not depend on the thread count.
/// </summary>
public static class FourierResize
{
    /// <summary>Resizes a cubic volume to <paramref name="size"/>³; the voxel size scales by n/L.</summary>
    public static Volume Resize(Volume volume, int size, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(volume);
        volume.RequireCube();
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), $"The target size must be positive; got {size}.");
        int n = volume.SizeX;
        var data = Resize(volume.Data, new[] { n, n, n }, new[] { size, size, size }, cancellationToken);
        double vs = volume.VoxelSize > 0 ? volume.VoxelSize * n / size : 0;
        return new Volume(size, data, vs, volume.Name);
    }

    /// <summary>Resizes an ny×nx image ([y, x], x fastest) to newNy×newNx.</summary>
    public static double[] Resize2D(ReadOnlySpan<double> image, int ny, int nx, int newNy, int newNx, CancellationToken cancellationToken = default)
        => Resize(image, new[] { ny, nx }, new[] { newNy, newNx }, cancellationToken);

    /// <summary>
    /// Resizes a row-major array (last index fastest) of dimensions <paramref name="dims"/> to
    /// <paramref name="newDims"/> (same rank).
    /// </summary>
    public static double[] Resize(ReadOnlySpan<double> data, int[] dims, int[] newDims, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dims);
        ArgumentNullException.ThrowIfNull(newDims);
        if (dims.Length != newDims.Length || dims.Length == 0) throw new ArgumentException("Source and target must have the same, non-zero rank.");
        long total = 1;
        for (int a = 0; a < dims.Length; a++)
        {
            if (dims[a] <= 0 || newDims[a] <= 0) throw new ArgumentOutOfRangeException(nameof(newDims), "All dimensions must be positive.");
            total *= dims[a];
        }
        if (data.Length != total) throw new ArgumentException($"Data length {data.Length} does not match the dimensions ({total}).", nameof(data));

        var cur = data.ToArray();
        var curDims = (int[])dims.Clone();
        // Shrinking axes first keeps the intermediate arrays small.
        var order = Enumerable.Range(0, dims.Length).OrderBy(a => (double)newDims[a] / dims[a]).ToArray();
        foreach (int axis in order)
        {
            if (curDims[axis] == newDims[axis] && newDims[axis] % 2 == 1) continue; // identity for odd equal sizes
            cur = ResizeAxis(cur, curDims, axis, newDims[axis], cancellationToken);
            curDims[axis] = newDims[axis];
        }
        return cur;
    }

    /// <summary>
    /// How the variance of white noise changes under <see cref="Resize(ReadOnlySpan{double}, int[], int[], CancellationToken)"/>
    /// along one axis of source length <paramref name="from"/> and target length <paramref name="to"/>:
    /// (kept frequencies)/from. Multiply over the axes (square it for a square image).
    /// For an odd target (downsampling) the resized noise is exactly white; for an even target its
    /// Nyquist plane is empty, so it is white up to that one plane.
    /// </summary>
    public static double NoiseVarianceFactor(int from, int to)
    {
        if (from <= 0 || to <= 0) throw new ArgumentOutOfRangeException(nameof(from));
        return (double)KeptCount(from, to) / from;
    }

    /// <summary>Number of frequencies kept on one axis: 2·floor((min(n, L) − 1)/2) + 1.</summary>
    public static int KeptCount(int from, int to) => 2 * ((Math.Min(from, to) - 1) / 2) + 1;

    private static double[] ResizeAxis(double[] src, int[] dims, int axis, int newLen, CancellationToken ct)
    {
        int n = dims[axis];
        long outer = 1, inner = 1;
        for (int a = 0; a < axis; a++) outer *= dims[a];
        for (int a = axis + 1; a < dims.Length; a++) inner *= dims[a];
        long lines = outer * inner;
        var dst = new double[outer * newLen * inner];
        int m = (Math.Min(n, newLen) - 1) / 2;      // keep |k| ≤ m
        int cIn = n / 2, cOut = newLen / 2;          // grid origins
        double scale = 1.0 / n;                       // unnormalised inverse on L, then × L/n / L
        var po = new ParallelOptions { CancellationToken = ct };
        Parallel.For(0L, lines, po,
            () => (new Complex[n], new Complex[n], new Complex[newLen], new Complex[newLen], new[] { n }, new[] { newLen }),
            (line, state, buf) =>
            {
                // Out-of-place transforms: Fftw.Dft's cached plans are out-of-place plans, and FFTW's
                // new-array execute must keep the plan's in-place/out-of-place kind.
                var (x, a, b, y, dn, dl) = buf;
                long o = line / inner, i = line % inner;
                long baseIn = o * n * inner + i, baseOut = o * newLen * inner + i;
                // ifftshift: spatial index cIn → 0.
                for (int j = 0; j < n; j++)
                {
                    int jj = j - cIn; if (jj < 0) jj += n;
                    x[jj] = new Complex(src[baseIn + j * inner], 0);
                }
                Fftw.Dft(x, a, dn, forward: true);
                Array.Clear(b);
                b[0] = a[0];
                for (int k = 1; k <= m; k++)
                {
                    b[k] = a[k];
                    b[newLen - k] = a[n - k];
                }
                Fftw.Dft(b, y, dl, forward: false);
                // fftshift: index 0 → cOut.
                for (int j = 0; j < newLen; j++)
                {
                    int jj = j - cOut; if (jj < 0) jj += newLen;
                    dst[baseOut + j * inner] = y[jj].Real * scale;
                }
                return buf;
            },
            _ => { });
        return dst;
    }
}
