using System.Numerics;
using CryoEmPS.Core.Native;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Projection;

/// <summary>
/// Tomographic projections of a voxel volume by the Fourier-slice theorem, evaluated with a
/// non-uniform FFT (type 2): the volume is divided by the Fourier transform of a Kaiser–Bessel
/// kernel (deapodisation), zero-padded to an oversampled grid N ≥ 2L, and 3-D FFT'd once (here,
/// in the constructor); each central slice ξ = Rᵀ(k_x, k_y, 0)/L is then interpolated with the
/// W×W×W Kaiser–Bessel kernel, which gives the DTFT F̂(ξ) = Σₙ f(n) e^{−2πi ξ·n} of the voxel
/// values to about 1e−6 (relative) for the defaults (N = 2L, W = 6). Frequencies outside the ball
/// |ξ| ≤ 1/2 (Nyquist) are set to zero; a 2-D inverse real FFT gives the L×L image on the grid whose
/// origin is index floor(L/2). Convention: I_R(x, y) = ∫ f(Rᵀ(x, y, z)) dz, in voxel-value × pixel
/// units (a projection sums to the sum of the volume, up to the band limit).
/// Thread-safe: <see cref="Project(Rotation, Span{double})"/> may be called from many threads.
/// </summary>
public sealed unsafe class VoxelProjector : IProjector, IDisposable
{
    /// <summary>Default kernel width W in oversampled grid points.</summary>
    public const int DefaultKernelWidth = 6;

    private const int TableDensity = 4096; // kernel samples per grid unit (linear interpolation)

    private readonly int _n;          // oversampled grid side
    private readonly int _w;          // kernel width
    private readonly Complex[] _spec; // N³ spectrum of the deapodised, padded volume, [z, y, x]
    private readonly double[] _kernelTable; // ψ(t) for t = i/TableDensity, i = 0..W/2·TableDensity+1
    private readonly RealFft2D _fft;
    private bool _disposed;

    /// <summary>Precomputes the padded spectrum of a cubic <paramref name="volume"/> (N = 2L, W = 6).</summary>
    public VoxelProjector(Volume volume) : this(volume, 0, DefaultKernelWidth) { }

    /// <summary>
    /// Precomputes the padded spectrum. <paramref name="oversampledSize"/> N (0 = automatic, the
    /// smallest 2,3,5,7-smooth number ≥ 2L); <paramref name="kernelWidth"/> W in 2..16.
    /// </summary>
    public VoxelProjector(Volume volume, int oversampledSize, int kernelWidth)
    {
        ArgumentNullException.ThrowIfNull(volume);
        volume.RequireCube();
        int l = volume.Size;
        if (kernelWidth < 2 || kernelWidth > 16) throw new ArgumentOutOfRangeException(nameof(kernelWidth), "The kernel width must be 2..16 grid points.");
        // Automatic N: 2L; for tiny volumes (L < W) the smallest multiple of L that is at least L + W.
        int n = oversampledSize == 0 ? (2 * l >= l + kernelWidth ? NiceSize(2 * l) : l * ((2 * l + kernelWidth - 1) / l)) : oversampledSize;
        if (n < l + kernelWidth) throw new ArgumentOutOfRangeException(nameof(oversampledSize), $"The oversampled grid ({n}) must be at least L + W = {l + kernelWidth}; use 0 for automatic (2L).");
        Size = l; PixelSize = volume.VoxelSize; Name = volume.Name;
        _n = n; _w = kernelWidth;
        double sigma = (double)n / l;
        // Beatty et al. (2005) shape parameter for oversampling σ and width W.
        double b2 = (kernelWidth / sigma) * (kernelWidth / sigma) * (sigma - 0.5) * (sigma - 0.5) - 0.8;
        Beta = Math.PI * Math.Sqrt(Math.Max(b2, 1.0));

        // Kernel table on [0, W/2].
        int tl = kernelWidth / 2 * TableDensity + 2;
        _kernelTable = new double[tl];
        for (int i = 0; i < tl; i++) _kernelTable[i] = KernelExact(i / (double)TableDensity);

        // Deapodisation factors 1/ψ̂(k/N) for k = −c..L−1−c.
        int c = l / 2;
        var deapo = new double[l];
        for (int i = 0; i < l; i++) deapo[i] = 1.0 / KernelTransform((i - c) / (double)n);

        var padded = new Complex[(long)n * n * n];
        var data = volume.Data;
        for (int z = 0; z < l; z++)
        {
            int mz = Mod(z - c, n);
            for (int y = 0; y < l; y++)
            {
                int my = Mod(y - c, n);
                double dzy = deapo[z] * deapo[y];
                long src = ((long)z * l + y) * l;
                long dstRow = ((long)mz * n + my) * n;
                for (int x = 0; x < l; x++)
                    padded[dstRow + Mod(x - c, n)] = new Complex(data[src + x] * dzy * deapo[x], 0);
            }
        }
        // Out of place: Fftw.Dft's cached plans are out-of-place plans (FFTW's new-array execute must
        // keep the plan's in-place-ness).
        _spec = new Complex[padded.Length];
        Fftw.Dft(padded, _spec, new[] { n, n, n }, forward: true);
        _fft = new RealFft2D(l, l, measure: false);
    }

    public int Size { get; }
    public double PixelSize { get; }
    public string Name { get; }
    /// <summary>The oversampled grid side N.</summary>
    public int OversampledSize => _n;
    /// <summary>The Kaiser–Bessel kernel width W (grid points).</summary>
    public int KernelWidth => _w;
    /// <summary>The Kaiser–Bessel shape parameter β.</summary>
    public double Beta { get; }

    /// <summary>Writes the L×L projection at <paramref name="rotation"/> into <paramref name="image"/> ([y, x]).</summary>
    public void Project(Rotation rotation, Span<double> image)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int l = Size;
        if (image.Length != l * l) throw new ArgumentException($"The image buffer must have L² = {l * l} entries.", nameof(image));
        int nh = l / 2 + 1;
        var spec = Fftw.Alloc<Complex>((long)l * nh);
        var real = Fftw.Alloc<double>((long)l * l);
        try
        {
            Slice(rotation, spec);
            _fft.Backward(spec, real);
            int c = l / 2;
            double scale = 1.0 / ((double)l * l);
            for (int y = 0; y < l; y++)
            {
                int sy = Mod(y - c, l) * l;
                int dy = y * l;
                for (int x = 0; x < l; x++)
                    image[dy + x] = real[sy + Mod(x - c, l)] * scale;
            }
        }
        finally
        {
            Fftw.Free((IntPtr)spec);
            Fftw.Free((IntPtr)real);
        }
    }

    /// <summary>The L×L projection at <paramref name="rotation"/> as a new array ([y, x]).</summary>
    public double[] Project(Rotation rotation)
    {
        var img = new double[Size * Size];
        Project(rotation, img);
        return img;
    }

    /// <summary>Projects at every rotation, in parallel; the stack carries the rotations, pixel size and name.</summary>
    public ImageStack ProjectMany(IReadOnlyList<Rotation> rotations, CancellationToken cancellationToken = default, IProgress<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(rotations);
        if (rotations.Count == 0) throw new ArgumentException("Give at least one rotation.", nameof(rotations));
        var stack = new ImageStack(rotations.Count, Size, Size, pixelSize: PixelSize, name: Name);
        int done = 0;
        Parallel.For(0, rotations.Count, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            Project(rotations[i], stack.Image(i));
            int d = Interlocked.Increment(ref done);
            progress?.Report(d);
        });
        stack.Rotations = rotations.ToArray();
        return stack;
    }

    /// <summary>Fills the half-spectrum (L × (L/2+1), ky wrapped, kx = 0..L/2) of the projection.</summary>
    private void Slice(Rotation r, Complex* spec)
    {
        int l = Size, nh = l / 2 + 1, w = _w, n = _n;
        double rmax2 = 0.25 * l * l; // |k| ≤ L/2  ⇔  |ξ| ≤ 1/2
        double invL = 1.0 / l;
        Span<double> wx = stackalloc double[w];
        Span<double> wy = stackalloc double[w];
        Span<double> wz = stackalloc double[w];
        Span<int> ix = stackalloc int[w];
        Span<int> iy = stackalloc int[w];
        Span<int> iz = stackalloc int[w];
        fixed (Complex* g = _spec)
        {
            for (int row = 0; row < l; row++)
            {
                int ky = row <= (l - 1) / 2 ? row : row - l; // −floor(L/2)..ceil(L/2)−1
                for (int kx = 0; kx < nh; kx++)
                {
                    Complex v = Complex.Zero;
                    if ((double)kx * kx + (double)ky * ky <= rmax2)
                    {
                        // ξ = Rᵀ (kx, ky, 0) / L, in oversampled grid units u = N ξ.
                        var (ex, ey, ez) = r.ApplyTranspose(kx * invL, ky * invL, 0);
                        Weights(ex * n, wx, ix);
                        Weights(ey * n, wy, iy);
                        Weights(ez * n, wz, iz);
                        double re = 0, im = 0;
                        for (int a = 0; a < w; a++)
                        {
                            long pz = (long)iz[a] * n;
                            for (int b = 0; b < w; b++)
                            {
                                double wab = wz[a] * wy[b];
                                Complex* p = g + (pz + iy[b]) * n;
                                double sre = 0, sim = 0;
                                for (int d = 0; d < w; d++)
                                {
                                    Complex q = p[ix[d]];
                                    sre += wx[d] * q.Real;
                                    sim += wx[d] * q.Imaginary;
                                }
                                re += wab * sre; im += wab * sim;
                            }
                        }
                        v = new Complex(re, im);
                    }
                    spec[row * nh + kx] = v;
                }
            }
        }
    }

    private void Weights(double u, Span<double> wt, Span<int> idx)
    {
        int w = _w;
        int m0 = (int)Math.Floor(u) - w / 2 + 1;
        for (int j = 0; j < w; j++)
        {
            int m = m0 + j;
            double t = Math.Abs(u - m);
            wt[j] = Kernel(t);
            idx[j] = Mod(m, _n);
        }
    }

    private double Kernel(double t)
    {
        double p = t * TableDensity;
        int i = (int)p;
        if (i >= _kernelTable.Length - 1) return 0;
        double f = p - i;
        return _kernelTable[i] + f * (_kernelTable[i + 1] - _kernelTable[i]);
    }

    /// <summary>ψ(t) = I₀(β√(1 − (2t/W)²)) / I₀(β) for |t| ≤ W/2, else 0.</summary>
    internal double KernelExact(double t)
    {
        double s = 2 * t / _w;
        if (Math.Abs(s) > 1) return 0;
        return BesselI0(Beta * Math.Sqrt(1 - s * s)) / BesselI0(Beta);
    }

    /// <summary>ψ̂(ω) = ∫ ψ(t) e^{−2πiωt} dt, in closed form (sinh/sin of √(β² − (πWω)²)).</summary>
    internal double KernelTransform(double omega)
    {
        double a = Math.PI * _w * omega;
        double d = Beta * Beta - a * a;
        double v;
        if (d > 1e-12) { double q = Math.Sqrt(d); v = Math.Sinh(q) / q; }
        else if (d < -1e-12) { double q = Math.Sqrt(-d); v = Math.Sin(q) / q; }
        else v = 1;
        return _w * v / BesselI0(Beta);
    }

    /// <summary>Modified Bessel function I₀ by its power series (converges for all x; fine to x ≈ 700).</summary>
    internal static double BesselI0(double x)
    {
        double q = x * x / 4, term = 1, sum = 1;
        for (int k = 1; k < 500; k++)
        {
            term *= q / ((double)k * k);
            sum += term;
            if (term < 1e-17 * sum) break;
        }
        return sum;
    }

    private static int Mod(int a, int m) { int r = a % m; return r < 0 ? r + m : r; }

    /// <summary>The smallest number ≥ n whose only prime factors are 2, 3, 5, 7.</summary>
    internal static int NiceSize(int n)
    {
        for (int m = Math.Max(n, 1); ; m++)
        {
            int k = m;
            foreach (int p in new[] { 2, 3, 5, 7 }) while (k % p == 0) k /= p;
            if (k == 1) return m;
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _fft.Dispose();
    }
}
