using System.Diagnostics;
using System.Runtime.InteropServices;

namespace CryoEmPS.Core.Native;

/// <summary>
/// OpenMPI's MPI_COMM_WORLD through a thin P/Invoke layer over libmpi.so.40 (Debian's <c>libopenmpi3</c>, pulled in by
/// <c>openmpi-bin</c>/<c>libopenmpi-dev</c>): Init_thread, Comm_rank/size, Send/Recv, Bcast, Abort, Finalize — the handful
/// of calls the EM needs, instead of MPI.NET (its 1.4.0 package targets .NET Framework and MS-MPI; see the issue-13 note).
/// <para>
/// <see cref="World"/> is this process's communicator: MPI when the process was started by <c>mpirun</c>/<c>srun</c> (the
/// launcher's variables OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_SIZE are set) and CRYOEMPS_MPI is not 0, else
/// <see cref="SingleProcess"/> — without a launcher libmpi is never loaded, so everything works without OpenMPI.
/// MPI is initialised once per process, at the first use of <see cref="World"/>, and finalised once at process exit.
/// </para>
/// <para>
/// OpenMPI's handles are addresses of exported objects (MPI_COMM_WORLD = &amp;ompi_mpi_comm_world, MPI_DOUBLE =
/// &amp;ompi_mpi_double); they are looked up by name. The library is opened with RTLD_GLOBAL (libc dlopen), as OpenMPI's
/// plug-ins resolve their symbols against it; .NET's own loader opens libraries RTLD_LOCAL.
/// </para>
/// </summary>
public sealed unsafe class Mpi : ICommunicator
{
    /// <summary>The library's soname (OpenMPI 4.x).</summary>
    public const string SoName = "libmpi.so.40";

    /// <summary>The Debian packages that provide it and mpirun.</summary>
    public const string DebianPackage = "openmpi-bin libopenmpi-dev";

    private const int ThreadSerialized = 2;   // MPI_THREAD_SERIALIZED in OpenMPI's mpi.h
    private const int ChunkDoubles = 1 << 17; // 1 MiB per message: the rank-order chain reduction pipelines chunk by chunk
    private const int SumTag = 7013;

    private static readonly Lazy<ICommunicator> TheWorld = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly IntPtr _library, _comm, _double;
    private readonly delegate* unmanaged<double*, int, IntPtr, int, int, IntPtr, int> _send;
    private readonly delegate* unmanaged<double*, int, IntPtr, int, int, IntPtr, IntPtr, int> _recv;
    private readonly delegate* unmanaged<void*, int, IntPtr, int, IntPtr, int> _bcast;
    private readonly delegate* unmanaged<IntPtr, int, int> _abort;
    private readonly delegate* unmanaged<int> _finalize;
    private readonly delegate* unmanaged<int*, int> _finalized;
    private readonly object _gate = new();
    private long _bytes;
    private long _ticks;

    private Mpi(IntPtr library)
    {
        _library = library;
        _comm = Export("ompi_mpi_comm_world");
        _double = Export("ompi_mpi_double");
        var initThread = (delegate* unmanaged<int*, byte***, int, int*, int>)Export("MPI_Init_thread");
        var initialized = (delegate* unmanaged<int*, int>)Export("MPI_Initialized");
        var rank = (delegate* unmanaged<IntPtr, int*, int>)Export("MPI_Comm_rank");
        var size = (delegate* unmanaged<IntPtr, int*, int>)Export("MPI_Comm_size");
        _send = (delegate* unmanaged<double*, int, IntPtr, int, int, IntPtr, int>)Export("MPI_Send");
        _recv = (delegate* unmanaged<double*, int, IntPtr, int, int, IntPtr, IntPtr, int>)Export("MPI_Recv");
        _bcast = (delegate* unmanaged<void*, int, IntPtr, int, IntPtr, int>)Export("MPI_Bcast");
        _abort = (delegate* unmanaged<IntPtr, int, int>)Export("MPI_Abort");
        _finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        _finalized = (delegate* unmanaged<int*, int>)Export("MPI_Finalized");
        int flag = 0, provided = 0, r = 0, s = 0;
        Check(initialized(&flag), "MPI_Initialized");
        if (flag == 0)
        {
            Check(initThread(null, null, ThreadSerialized, &provided), "MPI_Init_thread");
        }

        Check(rank(_comm, &r), "MPI_Comm_rank");
        Check(size(_comm, &s), "MPI_Comm_size");
        Rank = r;
        Size = s;
        // A process that ends with an error aborts the job instead: MPI_Finalize would wait for ranks that wait for it.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            if (Environment.ExitCode != 0)
            {
                _abort(_comm, Environment.ExitCode);
            }
            else
            {
                FinalizeAtExit();
            }
        };
    }

    /// <summary>This process's world: MPI's when started by an MPI launcher, else <see cref="SingleProcess"/>.</summary>
    public static ICommunicator World => TheWorld.Value;

    /// <summary>True when the process was started by an MPI launcher (its environment says so) and CRYOEMPS_MPI is not 0.</summary>
    public static bool Launched =>
        Environment.GetEnvironmentVariable("CRYOEMPS_MPI") != "0" &&
        (Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") != null || Environment.GetEnvironmentVariable("PMIX_RANK") != null ||
         Environment.GetEnvironmentVariable("PMI_SIZE") != null);

    /// <summary>The library path tried: CRYOEMPS_MPI_LIBRARY when set (tests hide the library with it), else <see cref="SoName"/>.</summary>
    public static string LibraryName => Environment.GetEnvironmentVariable("CRYOEMPS_MPI_LIBRARY") is { Length: > 0 } path ? path : SoName;

    public int Rank { get; }

    public int Size { get; }

    public long BytesMoved => Interlocked.Read(ref _bytes);

    public double SecondsCommunicating => Interlocked.Read(ref _ticks) / (double)Stopwatch.Frequency;

    public void SumInPlace(double[] values) => Collective(values, () =>
    {
        // The chain: rank r receives the partial sum of ranks 0…r−1, adds its own values after it and passes it on; the last
        // rank then holds (((v₀ + v₁) + v₂) + …) and broadcasts it.
        var incoming = Rank > 0 ? new double[Math.Min(ChunkDoubles, values.Length)] : Array.Empty<double>();
        fixed (double* v = values, buffer = incoming)
        {
            for (int offset = 0; offset < values.Length; offset += ChunkDoubles)
            {
                int count = Math.Min(ChunkDoubles, values.Length - offset);
                if (Rank > 0)
                {
                    Check(_recv(buffer, count, _double, Rank - 1, SumTag, _comm, IntPtr.Zero), "MPI_Recv");
                    for (int i = 0; i < count; i++)
                    {
                        v[offset + i] = buffer[i] + v[offset + i];
                    }

                    _bytes += 8L * count;
                }

                if (Rank < Size - 1)
                {
                    Check(_send(v + offset, count, _double, Rank + 1, SumTag, _comm), "MPI_Send");
                    _bytes += 8L * count;
                }
            }
        }

        BroadcastFrom(values, Size - 1);
    });

    public void Broadcast(double[] values) => Collective(values, () => BroadcastFrom(values, 0));

    /// <summary>One collective on <paramref name="values"/>: nothing to do alone; else one at a time, its time counted.</summary>
    private void Collective(double[] values, Action body)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (Size == 1)
        {
            return;
        }

        long start = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            body();
        }

        Interlocked.Add(ref _ticks, Stopwatch.GetTimestamp() - start);
    }

    /// <summary>Writes the error to standard error and ends the whole job (every rank) with MPI_Abort.</summary>
    public void Fail(Exception error)
    {
        Console.Error.WriteLine($"CryoEmPS: MPI rank {Rank} of {Size} failed, so the job ends: {error.Message}");
        Console.Error.Flush();
        _abort(_comm, 1);
    }

    private void BroadcastFrom(double[] values, int root)
    {
        fixed (double* v = values)
        {
            for (int offset = 0; offset < values.Length; offset += ChunkDoubles)
            {
                int count = Math.Min(ChunkDoubles, values.Length - offset);
                Check(_bcast(v + offset, count, _double, root, _comm), "MPI_Bcast");
                _bytes += 8L * count;
            }
        }
    }

    private void FinalizeAtExit()
    {
        int done = 0;
        if (_finalized(&done) == 0 && done == 0)
        {
            _finalize();
        }
    }

    private IntPtr Export(string name)
    {
        if (!NativeLibrary.TryGetExport(_library, name, out var address))
        {
            throw new NativeLibraryMissingException(LibraryName, DebianPackage);
        }

        return address;
    }

    private static void Check(int code, string call)
    {
        if (code != 0)
        {
            throw new InvalidOperationException($"{call} failed with MPI error code {code}.");
        }
    }

    private static ICommunicator Create()
    {
        if (!Launched)
        {
            return SingleProcess.Instance;
        }

        IntPtr library = dlopen(LibraryName, RtldNow | RtldGlobal);
        if (library == IntPtr.Zero)
        {
            throw new NativeLibraryMissingException(LibraryName, DebianPackage);
        }

        return new Mpi(library);
    }

    private const int RtldNow = 2, RtldGlobal = 0x100;

    [DllImport("libc", EntryPoint = "dlopen")]
    private static extern IntPtr dlopen([MarshalAs(UnmanagedType.LPUTF8Str)] string file, int mode);
}
