using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.InteropServices;

namespace CryoEmPS.Core.Native;

/// <summary>
/// The one doorway to FFTW (Debian package libfftw3-double3, soname libfftw3.so.3).
/// Planning is serialised by a lock (FFTW's planner is not thread-safe); executing a plan on new
/// arrays (fftw_execute_dft*, new-array execute) is thread-safe, which is how the hot loops use it.
/// Conventions: forward = e^{-2πi k·x/n}, no normalisation either way (as FFTW).
/// </summary>
public static unsafe class Fftw
{
    public const string SoName = "libfftw3.so.3";
    public const string DebianPackage = "libfftw3-double3";

    public const uint Measure = 0;
    public const uint DestroyInput = 1u << 0;
    public const uint Unaligned = 1u << 1;
    public const uint PreserveInput = 1u << 4;
    public const uint Estimate = 1u << 6;
    public const uint Patient = 1u << 5;
    public const int ForwardSign = -1;
    public const int BackwardSign = +1;

    private static readonly object PlannerLock = new();
    private static readonly ConcurrentDictionary<string, IntPtr> PlanCache = new();
    private static bool _checked;

    /// <summary>Throws <see cref="NativeLibraryMissingException"/> when libfftw3.so.3 cannot be loaded.</summary>
    public static void EnsureLoaded()
    {
        if (_checked)
        {
            return;
        }
        if (!NativeLibrary.TryLoad(SoName, out _))
        {
            throw new NativeLibraryMissingException(SoName, DebianPackage);
        }
        _checked = true;
    }

    /// <summary>The planner lock: hold it around any fftw_plan_* call.</summary>
    public static object Planner => PlannerLock;

    [DllImport(SoName, EntryPoint = "fftw_malloc")]
    public static extern IntPtr Malloc(nint n);
    [DllImport(SoName, EntryPoint = "fftw_free")]
    public static extern void Free(IntPtr p);
    [DllImport(SoName, EntryPoint = "fftw_destroy_plan")]
    public static extern void DestroyPlan(IntPtr plan);
    [DllImport(SoName, EntryPoint = "fftw_execute")]
    public static extern void Execute(IntPtr plan);
    [DllImport(SoName, EntryPoint = "fftw_execute_dft")]
    public static extern void ExecuteDft(IntPtr plan, Complex* input, Complex* output);
    [DllImport(SoName, EntryPoint = "fftw_execute_dft_r2c")]
    public static extern void ExecuteDftR2C(IntPtr plan, double* input, Complex* output);
    [DllImport(SoName, EntryPoint = "fftw_execute_dft_c2r")]
    public static extern void ExecuteDftC2R(IntPtr plan, Complex* input, double* output);
    [DllImport(SoName, EntryPoint = "fftw_plan_dft")]
    public static extern IntPtr PlanDft(int rank, int* n, Complex* input, Complex* output, int sign, uint flags);
    [DllImport(SoName, EntryPoint = "fftw_plan_dft_r2c")]
    public static extern IntPtr PlanDftR2C(int rank, int* n, double* input, Complex* output, uint flags);
    [DllImport(SoName, EntryPoint = "fftw_plan_dft_c2r")]
    public static extern IntPtr PlanDftC2R(int rank, int* n, Complex* input, double* output, uint flags);

    /// <summary>
    /// In-place or out-of-place complex DFT of a row-major array with the given dimensions
    /// (last fastest). Unnormalised. Uses a cached FFTW_ESTIMATE|FFTW_UNALIGNED plan, so it is
    /// safe to call from any thread on any managed array. Convenient, not the hot path.
    /// </summary>
    public static void Dft(ReadOnlySpan<Complex> input, Span<Complex> output, ReadOnlySpan<int> dims, bool forward)
    {
        EnsureLoaded();
        long total = 1;
        foreach (var dimension in dims)
        {
            if (dimension <= 0)
            {
                throw new ArgumentException("FFT dimensions must be positive.");
            }
            total *= dimension;
        }
        if (input.Length != total || output.Length != total)
        {
            throw new ArgumentException("FFT buffer length does not match the dimensions.");
        }
        int[] dimArray = dims.ToArray();
        fixed (Complex* inputPtr = input)
        fixed (Complex* outputPtr = output)
        {
            // FFTW's new-array execute must keep the plan's in-place/out-of-place kind: an out-of-place
            // plan run in place gives garbage for sizes whose algorithm is not a single codelet.
            bool inPlace = inputPtr == outputPtr;
            if (!inPlace && Overlaps(inputPtr, outputPtr, total))
            {
                throw new ArgumentException("FFT input and output must be the same array or not overlap.");
            }
            string key = (forward ? "f:" : "b:") + (inPlace ? "i:" : "o:") + string.Join("x", dimArray);
            IntPtr plan = PlanCache.GetOrAdd(key, _ => MakeComplexPlan(dimArray, forward, inPlace));
            ExecuteDft(plan, inputPtr, outputPtr);
        }
    }

    /// <summary>In-place complex DFT; see <see cref="Dft(ReadOnlySpan{Complex}, Span{Complex}, ReadOnlySpan{int}, bool)"/>.</summary>
    public static void Dft(Complex[] data, ReadOnlySpan<int> dims, bool forward) => Dft(data, data, dims, forward);

    private static bool Overlaps(Complex* a, Complex* b, long n) => a < b + n && b < a + n;

    private static IntPtr MakeComplexPlan(int[] dims, bool forward, bool inPlace)
    {
        long total = 1;
        foreach (var dimension in dims)
        {
            total *= dimension;
        }
        lock (PlannerLock)
        {
            // Plan on scratch arrays: FFTW_ESTIMATE does not touch them, UNALIGNED lets us run it on any arrays.
            var scratchIn = (Complex*)Malloc((nint)(total * sizeof(Complex)));
            var scratchOut = (Complex*)Malloc((nint)(total * sizeof(Complex)));
            try
            {
                fixed (int* dimsPtr = dims)
                {
                    var plan = PlanDft(dims.Length, dimsPtr, scratchIn, inPlace ? scratchIn : scratchOut,
                        forward ? ForwardSign : BackwardSign, Estimate | Unaligned);
                    if (plan == IntPtr.Zero)
                    {
                        throw new InvalidOperationException("FFTW could not make a plan for " + string.Join("x", dims));
                    }
                    return plan;
                }
            }
            finally
            {
                Free((IntPtr)scratchIn);
                Free((IntPtr)scratchOut);
            }
        }
    }

    /// <summary>Allocates an FFTW-aligned buffer (16-byte aligned or better). Free it with <see cref="Free"/>.</summary>
    public static T* Alloc<T>(long count) where T : unmanaged
    {
        EnsureLoaded();
        var pointer = Malloc((nint)(count * sizeof(T)));
        if (pointer == IntPtr.Zero)
        {
            throw new OutOfMemoryException("fftw_malloc failed.");
        }
        new Span<byte>((void*)pointer, checked((int)(count * sizeof(T)))).Clear();
        return (T*)pointer;
    }
}

/// <summary>
/// A pair of 2-D real FFT plans (r2c forward, c2r backward) for an ny×nx real grid, made once with
/// FFTW_PATIENT (measure: true) or FFTW_ESTIMATE and then executed on caller-owned aligned buffers from any thread
/// (FFTW's new-array execute is thread-safe). The half-spectrum has ny×(nx/2+1) entries.
/// c2r destroys its input (FFTW's default); copy first if you need it.
/// </summary>
public sealed unsafe class RealFft2D : IDisposable
{
    private IntPtr _r2c, _c2r;

    public RealFft2D(int ny, int nx, bool measure = true)
    {
        Fftw.EnsureLoaded();
        Ny = ny;
        Nx = nx;
        NxHalf = nx / 2 + 1;
        lock (Fftw.Planner)
        {
            var real = Fftw.Alloc<double>(RealLength);
            var spectrum = Fftw.Alloc<Complex>(ComplexLength);
            try
            {
                // FFTW_PATIENT: for the E-step's 36×36 transforms it picks faster plans than FFTW_MEASURE for a short
                // planning time, paid once per machine through the wisdom file (timings: benchmarks/README.md).
                uint flags = measure ? Fftw.Patient : Fftw.Estimate;
                void MakePlans()
                {
                    int* dims = stackalloc int[2] { ny, nx };
                    _r2c = Fftw.PlanDftR2C(2, dims, real, spectrum, flags);
                    _c2r = Fftw.PlanDftC2R(2, dims, spectrum, real, flags);
                }
                // Measured plans go through the shared wisdom, so every process on the machine gets the same ones.
                if (measure)
                {
                    FftwWisdom.PlanShared(MakePlans);
                }
                else
                {
                    MakePlans();
                }
                if (_r2c == IntPtr.Zero || _c2r == IntPtr.Zero)
                {
                    throw new InvalidOperationException($"FFTW could not plan a {ny}x{nx} real transform.");
                }
            }
            finally
            {
                Fftw.Free((IntPtr)real);
                Fftw.Free((IntPtr)spectrum);
            }
        }
    }

    public int Ny { get; }
    public int Nx { get; }
    public int NxHalf { get; }
    public int RealLength => Ny * Nx;
    public int ComplexLength => Ny * NxHalf;

    /// <summary>Forward r2c on aligned buffers (from <see cref="Fftw.Alloc{T}"/>).</summary>
    public void Forward(double* real, Complex* spectrum) => Fftw.ExecuteDftR2C(_r2c, real, spectrum);

    /// <summary>Backward c2r on aligned buffers, unnormalised (multiply by 1/(Ny·Nx) yourself). Destroys the input.</summary>
    public void Backward(Complex* spectrum, double* real) => Fftw.ExecuteDftC2R(_c2r, spectrum, real);

    public void Dispose()
    {
        lock (Fftw.Planner)
        {
            if (_r2c != IntPtr.Zero)
            {
                Fftw.DestroyPlan(_r2c);
                _r2c = IntPtr.Zero;
            }
            if (_c2r != IntPtr.Zero)
            {
                Fftw.DestroyPlan(_c2r);
                _c2r = IntPtr.Zero;
            }
        }
    }
}
