using System.Runtime.InteropServices;

namespace CryoEmPS.Core.Native;

/// <summary>
/// The one doorway to OpenBLAS/LAPACK (Debian package libopenblas0-pthread, soname libopenblas.so.0).
/// Row-major CBLAS calls plus LAPACK's Cholesky (column-major; for a symmetric matrix the layouts agree).
/// </summary>
public static unsafe class Blas
{
    public const string SoName = "libopenblas.so.0";
    public const string DebianPackage = "libopenblas0-pthread";

    public const int RowMajor = 101;
    public const int NoTrans = 111, Trans = 112;
    public const int Upper = 121, Lower = 122;

    private static readonly object InitLock = new();
    private static bool _loaded;

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv(string name, string value, int overwrite);
    [DllImport("libc", EntryPoint = "getenv")]
    private static extern IntPtr GetEnv(string name);

    /// <summary>
    /// Loads OpenBLAS once. Before the first load, on an AVX-512 CPU with OPENBLAS_CORETYPE unset,
    /// sets OPENBLAS_CORETYPE=SkylakeX through libc (Debian's 0.3.21 takes such CPUs for Haswell;
    /// the SkylakeX kernels run dsyrk faster on such CPUs; see benchmarks/README.md). Single-threaded BLAS by default:
    /// CryoEmPS parallelises itself and calls BLAS on large blocks.
    /// </summary>
    public static void EnsureLoaded()
    {
        if (_loaded)
        {
            return;
        }
        lock (InitLock)
        {
            if (_loaded)
            {
                return;
            }
            try
            {
                if (GetEnv("OPENBLAS_CORETYPE") == IntPtr.Zero && CpuHasAvx512())
                {
                    SetEnv("OPENBLAS_CORETYPE", "SkylakeX", 0);
                }
            }
            catch (Exception)
            {
                // libc missing is not fatal: OpenBLAS picks its own kernel
            }
            if (!NativeLibrary.TryLoad(SoName, out _))
            {
                throw new NativeLibraryMissingException(SoName, DebianPackage);
            }
            _loaded = true;
        }
    }

    private static bool CpuHasAvx512()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("flags", StringComparison.Ordinal))
                {
                    return line.Contains(" avx512f", StringComparison.Ordinal);
                }
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return false;
    }

    [DllImport(SoName, EntryPoint = "openblas_set_num_threads")]
    private static extern void openblas_set_num_threads(int n);
    [DllImport(SoName, EntryPoint = "cblas_dsyrk")]
    private static extern void cblas_dsyrk(int order, int uplo, int trans, int n, int k, double alpha, double* a, int lda, double beta,
        double* c, int ldc);
    [DllImport(SoName, EntryPoint = "cblas_ssyrk")]
    private static extern void cblas_ssyrk(int order, int uplo, int trans, int n, int k, float alpha, float* a, int lda, float beta,
        float* c, int ldc);
    [DllImport(SoName, EntryPoint = "cblas_dgemm")]
    private static extern void cblas_dgemm(int order, int ta, int tb, int m, int n, int k, double alpha, double* a, int lda, double* b,
        int ldb, double beta, double* c, int ldc);
    [DllImport(SoName, EntryPoint = "cblas_dgemv")]
    private static extern void cblas_dgemv(int order, int trans, int m, int n, double alpha, double* a, int lda, double* x, int incx,
        double beta, double* y, int incy);
    [DllImport(SoName, EntryPoint = "dpotrf_")]
    private static extern void dpotrf_(byte* uplo, int* n, double* a, int* lda, int* info);
    [DllImport(SoName, EntryPoint = "dpotri_")]
    private static extern void dpotri_(byte* uplo, int* n, double* a, int* lda, int* info);
    [DllImport(SoName, EntryPoint = "dpotrs_")]
    private static extern void dpotrs_(byte* uplo, int* n, int* nrhs, double* a, int* lda, double* b, int* ldb, int* info);

    public static void SetThreads(int n)
    {
        EnsureLoaded();
        openblas_set_num_threads(Math.Max(1, n));
    }

    /// <summary>C (n×n, row-major) = alpha·Aᵀ·A + beta·C where A is k×n row-major; fills the upper triangle only.</summary>
    public static void SyrkAtA(int n, int k, double alpha, double* a, double beta, double* c)
    {
        EnsureLoaded();
        cblas_dsyrk(RowMajor, Upper, Trans, n, k, alpha, a, n, beta, c, n);
    }

    /// <summary>
    /// The single-precision <see cref="SyrkAtA(int, int, double, double*, double, double*)"/> (ssyrk: twice the values per
    /// SIMD register, so faster; see benchmarks/README.md).
    /// </summary>
    public static void SyrkAtA(int n, int k, float alpha, float* a, float beta, float* c)
    {
        EnsureLoaded();
        cblas_ssyrk(RowMajor, Upper, Trans, n, k, alpha, a, n, beta, c, n);
    }

    /// <summary>C (m×n) = alpha·op(A)·op(B) + beta·C, all row-major with natural leading dimensions.</summary>
    public static void Gemm(bool transA, bool transB, int m, int n, int k, double alpha, double* a, double* b, double beta, double* c)
    {
        EnsureLoaded();
        int lda = transA ? m : k, ldb = transB ? k : n;
        cblas_dgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, n);
    }

    /// <summary>C (m×n) = alpha·op(A)·op(B) + beta·C, row-major with explicit leading dimensions (for sub-blocks).</summary>
    public static void Gemm(bool transA, bool transB, int m, int n, int k, double alpha, double* a, int lda, double* b, int ldb,
        double beta, double* c, int ldc)
    {
        EnsureLoaded();
        cblas_dgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// <summary>y = alpha·op(A)·x + beta·y with A m×n row-major.</summary>
    public static void Gemv(bool transA, int m, int n, double alpha, double* a, double* x, double beta, double* y)
    {
        EnsureLoaded();
        cblas_dgemv(RowMajor, transA ? Trans : NoTrans, m, n, alpha, a, n, x, 1, beta, y, 1);
    }

    /// <summary>
    /// Cholesky factorisation in place of a symmetric n×n matrix whose upper triangle (row-major) is filled. Returns LAPACK's info (0 =
    /// success, k&gt;0 = not positive definite at k).
    /// </summary>
    public static int CholeskyFactor(int n, double* a)
    {
        EnsureLoaded();
        // Row-major upper == column-major lower.
        byte uplo = (byte)'L';
        int info = 0;
        int nn = n;
        int lda = n;
        dpotrf_(&uplo, &nn, a, &lda, &info);
        return info;
    }

    /// <summary>Solves A x = b with the factor from <see cref="CholeskyFactor"/>; b (n) is overwritten by x.</summary>
    public static int CholeskySolve(int n, double* factor, double* b)
    {
        EnsureLoaded();
        byte uplo = (byte)'L';
        int info = 0;
        int nn = n;
        int nrhs = 1;
        int lda = n;
        int ldb = n;
        dpotrs_(&uplo, &nn, &nrhs, factor, &lda, b, &ldb, &info);
        return info;
    }

    /// <summary>
    /// A⁻¹ from the factor of <see cref="CholeskyFactor"/>, in place: the upper triangle (row-major) of <paramref name="factor"/>
    /// becomes that of A⁻¹ (the lower one is left as it was). Returns LAPACK's info.
    /// </summary>
    public static int CholeskyInverse(int n, double* factor)
    {
        EnsureLoaded();
        byte uplo = (byte)'L';
        int info = 0;
        int nn = n;
        int lda = n;
        dpotri_(&uplo, &nn, factor, &lda, &info);
        return info;
    }
}
