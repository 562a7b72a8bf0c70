using System.Runtime.InteropServices;

namespace CryoEmPS.Core.Native;

/// <summary>
/// The EM parallelises itself (-ThrottleLimit threads, each calling BLAS on its own block), so OpenBLAS must not
/// start threads of its own inside those calls: that would oversubscribe the cores, and a threaded BLAS call may
/// sum in a different order. <see cref="Single"/> sets OpenBLAS to one thread and restores the previous count on Dispose.
/// </summary>
internal sealed class OpenBlasThreads : IDisposable
{
    [DllImport(Blas.SoName, EntryPoint = "openblas_get_num_threads")]
    private static extern int openblas_get_num_threads();

    private static readonly object Gate = new();
    private static int _depth, _saved;

    private OpenBlasThreads() { }

    public static OpenBlasThreads Single()
    {
        Blas.EnsureLoaded();
        lock (Gate)
        {
            if (_depth++ == 0)
            {
                _saved = openblas_get_num_threads();
                Blas.SetThreads(1);
            }
        }
        return new OpenBlasThreads();
    }

    private bool _disposed;
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        lock (Gate)
        {
            if (--_depth == 0 && _saved > 0)
            {
                Blas.SetThreads(_saved);
            }
        }
    }
}
