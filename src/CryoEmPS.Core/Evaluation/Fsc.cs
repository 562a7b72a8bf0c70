using System.Numerics;
using CryoEmPS.Core.Native;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Evaluation;

/// <summary>One shell of a Fourier shell correlation curve.</summary>
public readonly record struct FscShell(int Shell, double SpatialFrequency, double Correlation, int VoxelCount)
{
    /// <summary>Spatial frequency in 1/Å (NaN when the voxel size is unknown).</summary>
    public double SpatialFrequencyPerAngstrom { get; init; } = double.NaN;
}

/// <summary>Per-shell sums of two volumes' DFTs (see <see cref="Fsc.ShellSums"/>), shells 0..floor(L/2).</summary>
public sealed record ShellSums(double[] Cross, double[] PowerA, double[] PowerB, int[] Count);

/// <summary>The result of <see cref="Fsc.Compute"/>.</summary>
public sealed class FscResult
{
    public FscResult(FscShell[] curve, double threshold, int size, double voxelSize)
    {
        Curve = curve; Threshold = threshold; Size = size; VoxelSize = voxelSize;
        FirstShellBelow = -1;
        for (int i = 0; i < curve.Length; i++)
            if (curve[i].Correlation < threshold) { FirstShellBelow = curve[i].Shell; break; }
        if (FirstShellBelow < 0)
        {
            CrossingShell = curve[^1].Shell; // never drops below: resolved to Nyquist
            CrossesThreshold = false;
        }
        else if (FirstShellBelow == 0)
        {
            CrossingShell = 0; CrossesThreshold = true;
        }
        else
        {
            var a = curve[FirstShellBelow - 1]; var b = curve[FirstShellBelow];
            double t = (a.Correlation - threshold) / (a.Correlation - b.Correlation);
            CrossingShell = a.Shell + t * (b.Shell - a.Shell);
            CrossesThreshold = true;
        }
    }

    public FscShell[] Curve { get; }
    public double Threshold { get; }
    public int Size { get; }
    public double VoxelSize { get; }
    /// <summary>The first shell k whose correlation is below the threshold (−1 if none).</summary>
    public int FirstShellBelow { get; }
    /// <summary>The interpolated shell where the curve crosses the threshold (linear between the shells around it); the last shell when it never does.</summary>
    public double CrossingShell { get; }
    public bool CrossesThreshold { get; }
    /// <summary>The crossing as a spatial frequency in cycles/pixel (shell / L).</summary>
    public double CrossingFrequency => CrossingShell / Size;
    /// <summary>Resolution in Å at the crossing, L·voxel/shell (NaN when the voxel size is unknown or the crossing is at 0).</summary>
    public double ResolutionAngstrom => VoxelSize > 0 && CrossingShell > 0 ? Size * VoxelSize / CrossingShell : double.NaN;

    public override string ToString()
    {
        string res = double.IsNaN(ResolutionAngstrom) ? ", – Å (voxel size unknown)" : $", {ResolutionAngstrom:0.##} Å";
        string never = CrossesThreshold ? "" : " (never below threshold)";
        return $"FSC {Threshold}: shell {CrossingShell:0.##} of {Size / 2}{res}{never}";
    }
}

/// <summary>
/// Fourier shell correlation, eq. (34), on the full 3-D DFT. Shells by rounded radius |k| (DFT index
/// units, k = 0..floor(L/2)); voxels with rounded radius above floor(L/2) (the corners) are ignored.
/// </summary>
public static class Fsc
{
    public static FscResult Compute(Volume reference, Volume estimate, double threshold = 0.5)
    {
        if (!(threshold > -1 && threshold < 1)) throw new ArgumentOutOfRangeException(nameof(threshold), "The FSC threshold must lie in (−1, 1).");
        var sums = ShellSums(reference, estimate);
        int n = reference.Size;
        var curve = new FscShell[sums.Count.Length];
        double vs = reference.VoxelSize > 0 ? reference.VoxelSize : estimate.VoxelSize;
        for (int k = 0; k < curve.Length; k++)
        {
            double den = Math.Sqrt(sums.PowerA[k] * sums.PowerB[k]);
            double c = den > 0 ? sums.Cross[k] / den : 0;
            curve[k] = new FscShell(k, (double)k / n, c, sums.Count[k]) { SpatialFrequencyPerAngstrom = vs > 0 ? k / (n * vs) : double.NaN };
        }
        return new FscResult(curve, threshold, n, vs);
    }

    /// <summary>
    /// Per-shell sums over the 3-D DFTs A and B of two L³ volumes (unnormalised forward DFT, shells as in <see cref="Compute"/>):
    /// Σ Re(A·B̄), Σ|A|², Σ|B|² and the voxel count, shells 0..floor(L/2).
    /// </summary>
    public static ShellSums ShellSums(Volume a, Volume b)
    {
        a.RequireCube(); b.RequireCube();
        if (a.Size != b.Size)
            throw new ArgumentException($"FSC needs volumes of the same size, but the reference is {a.Size}³ and the estimate {b.Size}³. Resize one of them (Resize-EmVolume) first.");
        int n = a.Size;
        var fa = ToComplex(a); var fb = ToComplex(b);
        int[] dims = { n, n, n };
        Fftw.Dft(fa, dims, true); Fftw.Dft(fb, dims, true);
        int kmax = n / 2;
        var sums = new ShellSums(new double[kmax + 1], new double[kmax + 1], new double[kmax + 1], new int[kmax + 1]);
        for (int z = 0; z < n; z++)
        {
            int kz = z <= n / 2 ? z : z - n; // DFT index → signed frequency (for even n, n/2 stays +n/2)
            for (int y = 0; y < n; y++)
            {
                int ky = y <= n / 2 ? y : y - n;
                for (int x = 0; x < n; x++)
                {
                    int kx = x <= n / 2 ? x : x - n;
                    int shell = (int)Math.Round(Math.Sqrt((double)kz * kz + ky * ky + kx * kx), MidpointRounding.AwayFromZero);
                    if (shell > kmax) continue;
                    int i = (z * n + y) * n + x;
                    var va = fa[i]; var vb = fb[i];
                    sums.Cross[shell] += (va * Complex.Conjugate(vb)).Real;
                    sums.PowerA[shell] += va.Real * va.Real + va.Imaginary * va.Imaginary;
                    sums.PowerB[shell] += vb.Real * vb.Real + vb.Imaginary * vb.Imaginary;
                    sums.Count[shell]++;
                }
            }
        }
        return sums;
    }

    /// <summary>
    /// The volume with every DFT coefficient of shell k (shells as in <see cref="Compute"/>) multiplied by
    /// <paramref name="weight"/>[k]; the corners beyond ⌊L/2⌋ take the last weight. Real up to rounding (the weights are radial).
    /// </summary>
    public static Volume FilterShells(Volume volume, IReadOnlyList<double> weight)
    {
        volume.RequireCube();
        int n = volume.Size, kmax = n / 2;
        if (weight.Count != kmax + 1)
        {
            throw new ArgumentException($"One weight per shell 0..{kmax} is needed; got {weight.Count}.", nameof(weight));
        }

        var f = ToComplex(volume);
        int[] dims = { n, n, n };
        Fftw.Dft(f, dims, true);
        for (int z = 0; z < n; z++)
        {
            int kz = z <= n / 2 ? z : z - n;
            for (int y = 0; y < n; y++)
            {
                int ky = y <= n / 2 ? y : y - n;
                for (int x = 0; x < n; x++)
                {
                    int kx = x <= n / 2 ? x : x - n;
                    int shell = (int)Math.Round(Math.Sqrt((double)kz * kz + ky * ky + kx * kx), MidpointRounding.AwayFromZero);
                    f[(z * n + y) * n + x] *= weight[Math.Min(shell, kmax)];
                }
            }
        }

        Fftw.Dft(f, dims, false);
        double scale = 1.0 / ((double)n * n * n);
        var data = new double[f.Length];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = f[i].Real * scale;
        }

        return new Volume(n, data, volume.VoxelSize, volume.Name);
    }

    private static Complex[] ToComplex(Volume v)
    {
        var c = new Complex[v.Data.Length];
        for (int i = 0; i < c.Length; i++) c[i] = v.Data[i];
        return c;
    }
}
