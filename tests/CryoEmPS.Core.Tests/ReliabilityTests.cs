using System.Diagnostics;
using System.Text;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Native;
using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Tests;

/// <summary>Hostile files, NaNs, huge sizes, checkpoint identity and concurrent writers (issue 15).</summary>
public class ReliabilityTests
{
    private static string TempDir() => Directory.CreateTempSubdirectory("cryoemps-rel").FullName;

    [Fact]
    public void DimensionsWhoseProductWrapsAreInvalidNotTruncatedOrOutOfMemory()
    {
        var bytes = new MrcFileBuilder { Nc = 4, Nr = 4, Ns = 4, FileValues = new double[64] }.Build();
        BitConverter.GetBytes(8).CopyTo(bytes, 0);
        BitConverter.GetBytes(1073807362).CopyTo(bytes, 4);
        BitConverter.GetBytes(2147352580).CopyTo(bytes, 8);
        var ex = Assert.Throws<MrcFormatException>(() => MrcHeader.Parse(bytes, bytes.Length));
        Assert.Equal("MrcInvalidDimensions", ex.ErrorId);
    }

    [Fact]
    public void ANamedPipeIsRefusedWithoutBeingOpened()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        string dir = TempDir();
        try
        {
            string fifo = Path.Combine(dir, "pipe.mrc");
            using (var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", fifo) { UseShellExecute = false }))
            {
                mkfifo!.WaitForExit();
                if (mkfifo.ExitCode != 0)
                {
                    return; // no mkfifo here: nothing to test
                }
            }
            // Opening a pipe for reading blocks until a writer comes: the readers must refuse it from its length alone.
            var ex = Assert.Throws<MrcFormatException>(() => MrcReader.ReadVolume(fifo));
            Assert.Equal("MrcTruncated", ex.ErrorId);
            Assert.Contains("named pipe", ex.Message);
            Assert.Equal("MrcTruncated", Assert.Throws<MrcFormatException>(() => MrcReader.ReadHeader(fifo)).ErrorId);
            Assert.Equal("PdbNoAtoms", Assert.Throws<AtomicModelException>(() => AtomicModel.Load(fifo)).ErrorId);
            Assert.Contains("named pipe", Assert.Throws<InvalidDataException>(() => ApproxEmCheckpoint.Read(fifo)).Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData("Infinity")]
    [InlineData("-5")]
    [InlineData("-Infinity")]
    public void AMicrographLabelOutsideTheNoiseVarianceRangeIsInvalid(string sigma2)
    {
        string dir = TempDir();
        try
        {
            string path = Path.Combine(dir, "m.mrc");
            File.WriteAllBytes(path, new MrcFileBuilder
            {
                Nc = 3, Nr = 3, Ns = 1, FileValues = new double[9], Labels = new[] { $"CryoEmPS mic=0 sigma2={sigma2} seed=1" },
            }.Build());
            var ex = Assert.Throws<MrcFormatException>(() => MrcReader.ReadMicrographs(path));
            Assert.Equal("MrcInvalidLabel", ex.ErrorId);
            Assert.Contains(path, ex.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void AnUnknownNoiseVarianceLabelStillReads()
    {
        string dir = TempDir();
        try
        {
            string path = Path.Combine(dir, "m.mrc");
            File.WriteAllBytes(path, new MrcFileBuilder
            {
                Nc = 3, Nr = 3, Ns = 1, FileValues = new double[9], Labels = new[] { "CryoEmPS mic=0 sigma2=NaN seed=none" },
            }.Build());
            Assert.True(double.IsNaN(MrcReader.ReadMicrographs(path)[0].NoiseVariance));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void MemoryBudgetRefusesBeforeAllocatingAndNamesBothNumbers()
    {
        var ex = Assert.Throws<MemoryLimitException>(() => MemoryBudget.Require(1e30, "A test", "Smaller."));
        Assert.Equal("InsufficientMemory", ex.ErrorId);
        Assert.Contains("more than 1 EB", ex.Message);
        Assert.Contains(MemoryBudget.Format(MemoryBudget.BudgetBytes), ex.Message);
        var array = Assert.Throws<MemoryLimitException>(() => MemoryBudget.RequireArray(3e9, "A test", "Smaller."));
        Assert.Equal("ArrayTooLarge", array.ErrorId);
        MemoryBudget.Require(1000, "A test", "Smaller.");
        Assert.True(MemoryBudget.AvailableBytes > 0);
        Assert.Equal("17.2 GB", MemoryBudget.Format(17.2e9));
    }

    [Fact]
    public void PatchFingerprintSeesAContrastInversion()
    {
        var data = new double[2 * 9];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = 0.25 * i - 1.5;
        }
        var origins = new[] { new PatchOrigin(0, 0, 0), new PatchOrigin(1, 0, 3) };
        var set = new PatchSet(3, data, origins);
        var inverted = new PatchSet(3, data.Select(v => -v).ToArray(), origins);
        var same = new PatchSet(3, (double[])data.Clone(), origins);
        Assert.NotEqual(set.Fingerprint(), inverted.Fingerprint());
        Assert.Equal(set.Fingerprint(), same.Fingerprint());
        Assert.Equal(64, set.Fingerprint().Length);
        // Composable: the per-micrograph digests, combined in order, give the fingerprint (a rank computes its own).
        var combined = PatchSet.CombineFingerprints(3, 2, new[] { set.MicrographDigest(0), set.MicrographDigest(1) });
        Assert.Equal(set.Fingerprint(), combined);
        Assert.NotEqual(set.Fingerprint(), PatchSet.CombineFingerprints(3, 2, new[] { set.MicrographDigest(1), set.MicrographDigest(0) }));
        // One sign flip in an even count of values (where FNV over whole words cancelled) changes it too.
        var twoFlips = (double[])data.Clone();
        twoFlips[1] = -twoFlips[1];
        twoFlips[4] = -twoFlips[4];
        Assert.NotEqual(set.Fingerprint(), new PatchSet(3, twoFlips, origins).Fingerprint());
    }

    [Fact]
    public void ContentHashIsCanonical()
    {
        string Of(double v) => new ContentHash("t").Add(v).Finish();
        Assert.Equal(Of(double.NaN), Of(BitConverter.Int64BitsToDouble(0x7FF8000000000123)));
        Assert.NotEqual(Of(0.0), Of(-0.0));
        Assert.NotEqual(new ContentHash("a").Add(1).Finish(), new ContentHash("b").Add(1).Finish());
        // SHA-256 of the canonical bytes: the domain string (length 1, 't') then the value's bits.
        var expected = System.Security.Cryptography.SHA256.HashData(new byte[] { 1, 0, 0, 0, (byte)'t', 0, 0, 0, 0, 0, 0, 0xF0, 0x3F });
        Assert.Equal(Convert.ToHexString(expected).ToLowerInvariant(), Of(1.0));
    }

    [Fact]
    public void ConcurrentWritersWithoutOverwriteHaveExactlyOneWinner() => Race(rounds: 5, writers: 20);

    [Fact]
    [Trait("Category", "Expensive")]
    public void FiftyRoundsOfTwentyConcurrentWritersHaveExactlyOneWinnerEach() => Race(rounds: 50, writers: 20);

    private static void Race(int rounds, int writers)
    {
        string dir = TempDir();
        try
        {
            for (int round = 0; round < rounds; round++)
            {
                string target = Path.Combine(dir, $"race{round}.bin");
                int winners = 0;
                int refused = 0;
                int winner = -1;
                using var start = new Barrier(writers);
                var threads = Enumerable.Range(0, writers).Select(w => new Thread(() =>
                {
                    var payload = new byte[1 << 16];
                    Array.Fill(payload, (byte)w);
                    start.SignalAndWait();
                    try
                    {
                        AtomicFile.Write(target, s => s.Write(payload), overwrite: false);
                        Interlocked.Increment(ref winners);
                        winner = w;
                    }
                    catch (FileAlreadyExistsException)
                    {
                        Interlocked.Increment(ref refused);
                    }
                })).ToList();
                threads.ForEach(t => t.Start());
                threads.ForEach(t => t.Join());
                Assert.Equal(1, winners);
                Assert.Equal(writers - 1, refused);
                // The file is the winner's, whole; no temporary file is left.
                Assert.All(File.ReadAllBytes(target), b => Assert.Equal((byte)winner, b));
                Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void StaleTemporaryFilesOfDeadProcessesAreRemovedOnTheNextWrite()
    {
        string dir = TempDir();
        try
        {
            string target = Path.Combine(dir, "v.mrc");
            string dead = Path.Combine(dir, AtomicFile.TemporaryName("v.mrc", int.MaxValue - 1, "deadbeef"));
            string live = Path.Combine(dir, AtomicFile.TemporaryName("v.mrc", Environment.ProcessId, "cafebabe"));
            string other = Path.Combine(dir, AtomicFile.TemporaryName("w.mrc", int.MaxValue - 1, "deadbeef"));
            foreach (var file in new[] { dead, live, other })
            {
                File.WriteAllText(file, "half");
            }
            AtomicFile.Write(target, s => s.WriteByte(1), overwrite: false);
            Assert.False(File.Exists(dead));
            Assert.True(File.Exists(live));   // a running process's file is in use
            Assert.True(File.Exists(other));  // another target's files are not this write's business
            Assert.Equal(new byte[] { 1 }, File.ReadAllBytes(target));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void AWriteFailureNamesTheTargetNotTheTemporaryFile()
    {
        string dir = TempDir();
        try
        {
            string target = Path.Combine(dir, "v.mrc");
            var ex = Assert.Throws<IOException>(() => AtomicFile.Write(target,
                s => throw new IOException($"Read-only file system : '{((FileStream)s).Name}'"), overwrite: true));
            Assert.Contains($"'{target}'", ex.Message);
            Assert.DoesNotContain(".tmp", ex.Message);
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void AFileLockIsExclusiveAndReleasedOnDispose()
    {
        string dir = TempDir();
        try
        {
            string path = Path.Combine(dir, "em.ckpt");
            using (FileLock.Acquire(path, "The checkpoint"))
            {
                var ex = Assert.Throws<FileLockedException>(() => FileLock.Acquire(path, "The checkpoint"));
                Assert.Contains("in use by another run", ex.Message);
            }
            using (FileLock.Acquire(path, "The checkpoint"))
            {
            }
            Assert.Equal(Path.Combine(dir, ".em.ckpt.lock"), FileLock.LockPathOf(path));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void OnlyASharingViolationCountsAsLockContention()
    {
        int wouldBlock = OperatingSystem.IsWindows() ? 32 : OperatingSystem.IsLinux() ? 11 : 35;
        Assert.True(FftwWisdom.IsContention(new IOException("busy", wouldBlock)));
        Assert.True(FileLock.IsSharingViolation(new IOException("busy", wouldBlock)));
        // EROFS (30 on Linux and macOS): a read-only file system is not worth 60 s of retries per plan.
        Assert.False(FftwWisdom.IsContention(new IOException("Read-only file system", 30)));
        Assert.False(FileLock.IsSharingViolation(new IOException("Read-only file system", 30)));
        Assert.False(FftwWisdom.IsContention(new FileNotFoundException("gone")));
    }

    [Fact]
    public void WritingTheSameVolumeTwiceGivesTheSameBytes()
    {
        var volume = Phantom.Create(7);
        var first = new MemoryStream();
        var second = new MemoryStream();
        MrcWriter.WriteVolume(first, volume);
        Thread.Sleep(1100); // across a second boundary: a clock time in the label would differ
        MrcWriter.WriteVolume(second, volume);
        Assert.Equal(first.ToArray(), second.ToArray());
    }

    [Fact]
    public void CheckpointCountsAndContentsAreCheckedAfterTheChecksum()
    {
        string dir = TempDir();
        try
        {
            var key = new ApproxEmCheckpointKey(new string('a', 64), 4, 5, 1, 1.0, 0.5, 0, 10, new string('b', 64), "[n=3]");
            ApproxEmCheckpoint Make(int stage = 0, int iteration = 1, double v = 0.5, double coefficient = 1, double objective = -3)
                => new(key, stage, iteration, new[] { 1.0, coefficient, 2.0 }, v, double.NegativeInfinity, objective,
                    Array.Empty<ApproxEmIteration>());
            string path = Path.Combine(dir, "em.ckpt");
            Make().Write(path);
            Assert.Equal(1, ApproxEmCheckpoint.Read(path).Iteration);
            foreach (var (bad, what) in new (ApproxEmCheckpoint, string)[]
            {
                (Make(stage: -1), "stage index -1"), (Make(iteration: -2), "iteration -2"), (Make(v: double.NaN), "v = NaN"),
                (Make(v: 1.5), "v = 1.5"), (Make(coefficient: double.NaN), "coefficient 1 is NaN"),
                (Make(coefficient: double.PositiveInfinity), "coefficient 1 is "), (Make(objective: double.NaN), "objective"),
            })
            {
                bad.Write(path);
                var ex = Assert.Throws<InvalidDataException>(() => ApproxEmCheckpoint.Read(path));
                Assert.Contains(what, ex.Message);
            }

            // A negative or huge coefficient count with a correct checksum: refused before anything is allocated.
            Make().Write(path);
            var bytes = File.ReadAllBytes(path);
            // The coefficient count is the first int 3 followed by the doubles 1, 1, 2 (the per-chain state after the history
            // repeats them later).
            var pattern = BitConverter.GetBytes(3).Concat(new[] { 1.0, 1.0, 2.0 }.SelectMany(BitConverter.GetBytes)).ToArray();
            int countOffset = bytes.AsSpan().IndexOf(pattern);
            Assert.Equal(3, BitConverter.ToInt32(bytes, countOffset));
            foreach (int count in new[] { -1, int.MaxValue, 1 << 28 })
            {
                BitConverter.GetBytes(count).CopyTo(bytes, countOffset);
                BitConverter.GetBytes(Fnv1a(bytes.AsSpan(0, bytes.Length - 8))).CopyTo(bytes, bytes.Length - 8);
                File.WriteAllBytes(path, bytes);
                var ex = Assert.Throws<InvalidDataException>(() => ApproxEmCheckpoint.Read(path));
                Assert.Contains($"coefficient count {count}", ex.Message);
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static ulong Fnv1a(ReadOnlySpan<byte> bytes)
    {
        ulong hash = 1469598103934665603UL;
        foreach (var value in bytes)
        {
            hash ^= value;
            hash *= 1099511628211UL;
        }
        return hash;
    }

    private static PatchSet Patches(int size, int count, double fill = 1)
    {
        var data = new double[count * size * size];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = fill * ((i % 7) - 3);
        }
        return new PatchSet(size, data, Enumerable.Range(0, count).Select(q => new PatchOrigin(0, 0, q * size)).ToArray(),
            noiseVariance: 1);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void PatchesTooSmallForTheBasisHaveAStableErrorId(int size)
    {
        var request = new ApproxEmRequest { Patches = Patches(size, 4), EllMax = new[] { 0 } };
        var ex = Assert.Throws<ApproxEmInputException>(() => request.Resolve());
        Assert.Equal("PatchSizeTooSmall", ex.ErrorId);
    }

    [Fact]
    public void NonFinitePatchesAndInitialCoefficientsAreRefused()
    {
        var nan = Patches(5, 4);
        nan.Data[7] = double.NaN;
        var ex = Assert.Throws<ApproxEmInputException>(
            () => new ApproxEmRequest { Patches = nan, EllMax = new[] { 1 }, RotationCount = new[] { 5 } }.Resolve());
        Assert.Equal("PatchSetNotFinite", ex.ErrorId);
        var huge = Patches(5, 4, 1e200);
        ex = Assert.Throws<ApproxEmInputException>(
            () => new ApproxEmRequest { Patches = huge, EllMax = new[] { 1 }, RotationCount = new[] { 5 } }.Resolve());
        Assert.Equal("PatchSetNotFinite", ex.ErrorId);
        var initial = FourierBesselTransform.Analyze(Phantom.Create(5), 1);
        initial.Coefficients[1] = double.NaN;
        ex = Assert.Throws<ApproxEmInputException>(() => new ApproxEmRequest
        {
            Patches = Patches(5, 4), EllMax = new[] { 1 }, RotationCount = new[] { 5 }, InitialCoefficients = initial,
        }.Resolve());
        Assert.Equal("VolumeNotFinite", ex.ErrorId);
    }

    [Fact]
    public void TenMillionRotationsAreRefusedBeforeAnyGridIsMade()
    {
        var ex = Assert.Throws<ApproxEmInputException>(() => new ApproxEmRequest
        {
            Patches = Patches(11, 4), EllMax = new[] { 2 }, RotationCount = new[] { 10_000_000 },
        }.Resolve());
        Assert.Equal("ArrayTooLarge", ex.ErrorId);
        ex = Assert.Throws<ApproxEmInputException>(() => ApproxEmInputChecks.CheckMemory(5, new[] { 100_000_000 }, 10));
        Assert.True(ex.ErrorId is "InsufficientMemory" or "ArrayTooLarge", ex.ErrorId);
    }

    private static string Pdb(string x, string occupancy)
        => $"ATOM      1  CA  ALA A   1    {x,8}{"0.000",8}{"0.000",8}{occupancy,6}{"0.00",6}           C";

    [Theory]
    [InlineData("1e308", "1.00", "PdbBadRecord")]
    [InlineData("-1e300", "1.00", "PdbBadRecord")]
    [InlineData("1.000", "1e308", "PdbBadRecord")]
    [InlineData("1.000", "-1.00", "PdbBadRecord")]
    [InlineData("1.000", "0.00", "PdbZeroOccupancy")]
    public void AtomicModelsWithAbsurdNumbersHaveStableErrorIds(string x, string occupancy, string errorId)
    {
        string text = Pdb(x, occupancy) + "\n" + Pdb("2.000", occupancy == "0.00" ? "0.00" : "1.00") + "\n";
        var ex = Assert.Throws<AtomicModelException>(() => AtomicModel.ParsePdb(new StringReader(text)));
        Assert.Equal(errorId, ex.ErrorId);
    }

    [Fact]
    public void AnOrdinaryAtomicModelStillReads()
    {
        var model = AtomicModel.ParsePdb(new StringReader(Pdb("1.000", "1.00") + "\n" + Pdb("2.000", "0.50") + "\n"));
        Assert.Equal(2, model.Atoms.Count);
        Assert.Equal(0.5, model.Atoms[1].Occupancy);
    }
}
