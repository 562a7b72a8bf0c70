using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Native;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Reconstruction;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Tests;

/// <summary>
/// The EM spread over ranks (issue 13) without MPI: P threads, each a rank with its own <see cref="ThreadRank"/> over one
/// shared hub, run the same EM; the E-step shares, the rank-order sums and the broadcasts are the ones MPI runs (the
/// Pester MPI tests run the real thing under mpirun). The sharded run must equal the one-process run to rounding, be
/// bit-identical between repeats and on every rank, and resume from a checkpoint with another rank count.
/// </summary>
public class ShardedEmTests
{
    /// <summary>The ranks' meeting point: one slot per rank and a barrier (cancellable, so a cancelled run does not hang).</summary>
    private sealed class Hub
    {
        public Hub(int size, CancellationToken token)
        {
            Size = size;
            Barrier = new Barrier(size);
            Slots = new double[size][];
            Token = token;
        }

        public int Size { get; }
        public Barrier Barrier { get; }
        public double[][] Slots { get; }
        public CancellationToken Token { get; }
    }

    /// <summary>One in-process rank: SumInPlace adds every rank's array in rank order; Broadcast copies rank 0's.</summary>
    private sealed class ThreadRank : ICommunicator
    {
        private readonly Hub _hub;
        private long _bytes;

        public ThreadRank(Hub hub, int rank)
        {
            _hub = hub;
            Rank = rank;
        }

        public int Rank { get; }
        public int Size => _hub.Size;
        public long BytesMoved => _bytes;
        public double SecondsCommunicating => 0;
        public int Calls { get; private set; }

        public void SumInPlace(double[] values)
        {
            Calls++;
            _hub.Slots[Rank] = (double[])values.Clone();
            _hub.Barrier.SignalAndWait(_hub.Token);
            var first = _hub.Slots[0];
            Assert.All(_hub.Slots, slot => Assert.Equal(first.Length, slot.Length));
            for (int i = 0; i < values.Length; i++)
            {
                double sum = first[i];
                for (int r = 1; r < Size; r++)
                {
                    sum += _hub.Slots[r][i];
                }

                values[i] = sum;
            }

            _bytes += 8L * values.Length;
            _hub.Barrier.SignalAndWait(_hub.Token);
        }

        public void Fail(Exception error) { }

        public void Broadcast(double[] values)
        {
            Calls++;
            if (Rank == 0)
            {
                _hub.Slots[0] = (double[])values.Clone();
            }

            _hub.Barrier.SignalAndWait(_hub.Token);
            _hub.Slots[0].CopyTo(values, 0);
            _hub.Barrier.SignalAndWait(_hub.Token);
        }
    }

    /// <summary>Runs <paramref name="body"/> as <paramref name="size"/> ranks on their own threads; every rank's result.</summary>
    private static T[] OnRanks<T>(int size, Func<ICommunicator, T> body, CancellationToken token = default)
    {
        var hub = new Hub(size, token);
        var tasks = Enumerable.Range(0, size)
            .Select(rank => Task.Factory.StartNew(() => body(new ThreadRank(hub, rank)), TaskCreationOptions.LongRunning)).ToArray();
        Task.WaitAll(tasks);
        return tasks.Select(task => task.Result).ToArray();
    }

    private static ApproxEmAlgorithmTests.Problem Make() => ApproxEmAlgorithmTests.Make(l: 5, p: 45);

    private static ApproxEmSettings Settings(ApproxEmAlgorithmTests.Problem pr, ICommunicator? world, MStepMode mode = MStepMode.Minibatch, string? ck = null,
        bool resume = false) => new()
    {
        Stages = new[] { 6, 10 }.Select((n, i) => new ApproxEmStage(pr.Model(n), pr.Rotations, 0.5, 3, ellMax: i)).ToArray(),
        NoiseVariance = 0.36, Seed = 5, Threads = 1, MStep = mode, EstimateNoiseVariance = true, Communicator = world,
        Precision = EStepPrecision.Double,
        CheckpointPath = ck, Resume = resume,
    };

    private static double RelativeDifference(double[] a, double[] b)
        => Math.Sqrt(a.Zip(b, (u, v) => (u - v) * (u - v)).Sum() / b.Sum(v => v * v));

    [Theory]
    [InlineData(2, MStepMode.Minibatch)]
    [InlineData(3, MStepMode.Minibatch)]
    [InlineData(2, MStepMode.Incremental)]
    public void RanksEqualOneProcessAndEachOther(int size, MStepMode mode)
    {
        var pr = Make();
        var x0 = pr.X0.Take(6).ToArray();
        var alone = ApproxEm.Run(pr.Patches, x0, Settings(pr, null, mode));
        var ranks = OnRanks(size, world => ApproxEm.Run(pr.Patches, x0, Settings(pr, world, mode)));
        var again = OnRanks(size, world => ApproxEm.Run(pr.Patches, x0, Settings(pr, world, mode)));
        foreach (var run in ranks.Concat(again))
        {
            // Every rank, and a repeat, gives the same bits.
            Assert.Equal(ranks[0].Coefficients, run.Coefficients);
            Assert.Equal(ranks[0].History.Select(h => h.LogLikelihood), run.History.Select(h => h.LogLikelihood));
            Assert.Equal(ranks[0].History.Select(h => h.NoiseVariance), run.History.Select(h => h.NoiseVariance));
        }

        // The sums are associated differently (a share per rank), so the one-process run agrees to rounding.
        AssertAgrees(alone, ranks[0], 1e-12);
    }

    /// <summary>
    /// The run on ranks agrees with the one-process run: coefficients to <paramref name="tolerance"/> (relative), the same rows
    /// and patch counts, and per row the log-likelihoods (also held out), σ² and v to rounding.
    /// </summary>
    private static void AssertAgrees(ApproxEmRun alone, ApproxEmRun onRanks, double tolerance)
    {
        double difference = RelativeDifference(onRanks.Coefficients, alone.Coefficients);
        Assert.True(difference < tolerance, $"coefficients differ by {difference:g3} (relative)");
        // Every patch's empty posterior comes back to its place from the rank that scored it.
        Assert.Equal(alone.PatchEmptyProbability.Length, onRanks.PatchEmptyProbability.Length);
        for (int q = 0; q < alone.PatchEmptyProbability.Length; q++)
        {
            double one = alone.PatchEmptyProbability[q], split = onRanks.PatchEmptyProbability[q];
            Assert.True(double.IsNaN(one) ? double.IsNaN(split) : Math.Abs(one - split) <= 1e-6 + 1e3 * tolerance,
                $"patch {q}: empty posterior {one} alone, {split} on ranks");
        }
        Assert.Equal(alone.History.Count, onRanks.History.Count);
        foreach (var (one, split) in alone.History.Zip(onRanks.History))
        {
            Assert.Equal(one.PatchCount, split.PatchCount);
            Assert.Equal(one.LogLikelihood, split.LogLikelihood, 1e-9 * Math.Abs(one.LogLikelihood));
            Assert.Equal(one.NoiseVariance, split.NoiseVariance, 1e-9 * one.NoiseVariance);
            Assert.Equal(one.EmptyProbability, split.EmptyProbability, 1e-12);
            Assert.Equal(double.IsNaN(one.HeldOutLogLikelihoodPerPatch), double.IsNaN(split.HeldOutLogLikelihoodPerPatch));
            if (!double.IsNaN(one.HeldOutLogLikelihoodPerPatch))
            {
                Assert.Equal(one.HeldOutLogLikelihoodPerPatch, split.HeldOutLogLikelihoodPerPatch, 1e-9 * Math.Abs(one.HeldOutLogLikelihoodPerPatch));
                // Each held-out patch's value (the held-out choice is made from them) is the same on ranks, in the same order.
                Assert.Equal(one.HeldOutPatchLogLikelihood.Length, split.HeldOutPatchLogLikelihood.Length);
                foreach (var (a, b) in one.HeldOutPatchLogLikelihood.Zip(split.HeldOutPatchLogLikelihood))
                {
                    Assert.Equal(a, b, 1e-9 * Math.Abs(a));
                }
            }
        }
    }

    /// <summary>
    /// The filtered path (three micrographs with their own CTF: three filter groups, so a rank's share holds some of them), with
    /// gold-standard halves, held-out patches and the Gaussian prior: every reduction the driver makes.
    /// </summary>
    [Fact]
    public void FilteredHalvesAndHeldOutPatchesShardToo()
    {
        var (model, rot, data, x0) = FilteredData();
        int l = model.ImageSize, p = data.Length / (l * l);
        var origins = Enumerable.Range(0, p).Select(q => new PatchOrigin(q % 3, q * l, 0)).ToArray();
        var patches = new PatchSet(l, data, origins, null, 0.25, new[] { "a", "b", "c" });
        var filters = Enumerable.Range(0, 3).Select(g => (IImageFilter)new MicrographFilter(
            new Ctf(12000 + 4000 * g, 11000 + 4000 * g, 20 * g, 300, 2.7, 0.1, 3), null, 3, 1)).ToArray();
        var forward = new ForwardModel(l, filters);
        ApproxEmSettings Make(ICommunicator? world) => new()
        {
            Stages = new[] { new ApproxEmStage(model, rot, 0.5, 3, ellMax: 3) },
            NoiseVariance = 0.25, Seed = 7, Threads = 1, ForwardModel = forward, HalfSets = HalfSets.Split(patches),
            HeldOut = new[] { 2, 11, 17, 23, 30 }, Prior = ApproxEmPrior.Gaussian, EstimateNoiseVariance = true,
            MStep = MStepMode.Incremental, Communicator = world, Precision = EStepPrecision.Double,
        };

        var alone = ApproxEm.Run(patches, x0, Make(null));
        var ranks = OnRanks(2, world => ApproxEm.Run(patches, x0, Make(world)));
        Assert.Equal(ranks[0].Coefficients, ranks[1].Coefficients);
        AssertAgrees(alone, ranks[0], 1e-11);
    }

    /// <summary>
    /// In single precision the E-step adds its statistics in float, patch after patch: split over ranks the float sums are
    /// grouped differently, so the map agrees with the one-process run to the float rounding (about 1e-7), not to 1e-12;
    /// the ranks still agree bit for bit, and so do repeats.
    /// </summary>
    [Fact]
    public void SinglePrecisionAgreesToItsRounding()
    {
        var pr = Make();
        var x0 = pr.X0.Take(6).ToArray();
        ApproxEmSettings Single(ICommunicator? world)
        {
            var s = Settings(pr, world);
            return new ApproxEmSettings
            {
                Stages = s.Stages, NoiseVariance = s.NoiseVariance, Seed = s.Seed, Threads = 1, EstimateNoiseVariance = true,
                Communicator = world, Precision = EStepPrecision.Single,
            };
        }

        var alone = ApproxEm.Run(pr.Patches, x0, Single(null));
        var ranks = OnRanks(2, world => ApproxEm.Run(pr.Patches, x0, Single(world)));
        var again = OnRanks(2, world => ApproxEm.Run(pr.Patches, x0, Single(world)));
        Assert.Equal(ranks[0].Coefficients, ranks[1].Coefficients);
        Assert.Equal(ranks[0].Coefficients, again[0].Coefficients);
        double difference = RelativeDifference(ranks[0].Coefficients, alone.Coefficients);
        Assert.True(difference < 1e-5, $"coefficients differ by {difference:g3} (relative)");
    }

    /// <summary>A run interrupted on 2 ranks resumes on 1, and one interrupted on 1 resumes on 2, ending where an uninterrupted run does.</summary>
    [Fact]
    public void ACheckpointResumesWithAnotherRankCount()
    {
        var pr = Make();
        var x0 = pr.X0.Take(6).ToArray();
        string dir = Path.Combine(Path.GetTempPath(), "cryoemps-sharded-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var full = ApproxEm.Run(pr.Patches, x0, Settings(pr, null, MStepMode.Incremental));
            foreach (var (first, second) in new[] { (2, 1), (1, 2) })
            {
                string ck = Path.Combine(dir, $"em-{first}-{second}.ckpt");
                using var cts = new CancellationTokenSource();
                var stop = new SyncProgress(p => { if (p.Completed is { Stage: 1, Iteration: 2 }) cts.Cancel(); });
                var interrupted = Assert.ThrowsAny<AggregateException>(() => OnRanks(first,
                    world => ApproxEm.Run(pr.Patches, x0, Settings(pr, world, MStepMode.Incremental, ck), stop, cts.Token), cts.Token));
                Assert.All(interrupted.InnerExceptions, e => Assert.IsAssignableFrom<OperationCanceledException>(e));
                var saved = ApproxEmCheckpoint.Read(ck);
                Assert.Equal(0, saved.Stage);
                Assert.Equal(2, saved.Iteration);

                var resumed = OnRanks(second, world => ApproxEm.Run(pr.Patches, x0, Settings(pr, world, MStepMode.Incremental, ck, resume: true)));
                Assert.All(resumed, run => Assert.True(run.Resumed));
                double difference = RelativeDifference(resumed[0].Coefficients, full.Coefficients);
                Assert.True(difference < 1e-12, $"{first} → {second} ranks: coefficients differ by {difference:g3} (relative)");
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// Rank <paramref name="rank"/>'s own patch set as Import-Micrograph -RankShare | Get-PatchSet cut it: only the patches of
    /// its contiguous share of <paramref name="full"/>'s micrographs (whose patches come micrograph by micrograph), numbered
    /// from 0, with those micrographs' names, CTFs, whitenings and signal scales.
    /// </summary>
    private static PatchSet ShareOf(PatchSet full, int rank, int size)
    {
        var share = new RankShare(rank, size);
        var (first, end) = share.Range(full.MicrographCount);
        var mine = Enumerable.Range(0, full.Count).Where(q => full.Origins[q].Micrograph >= first && full.Origins[q].Micrograph < end).ToArray();
        int l2 = full.PatchSize * full.PatchSize;
        var data = mine.SelectMany(q => full.Data.Skip(q * l2).Take(l2)).ToArray();
        var origins = mine.Select(q => full.Origins[q] with { Micrograph = full.Origins[q].Micrograph - first }).ToArray();
        T[] Part<T>(T[] all) => all.Length == 0 ? all : all[first..end];
        return new PatchSet(full.PatchSize, data, origins, mine.Select(q => full.Content[q]).ToArray(), full.NoiseVariance,
            full.MicrographNames[first..end], full.PixelSize)
        {
            Ctfs = Part(full.Ctfs), Whitenings = Part(full.Whitenings), SignalScales = Part(full.SignalScales), RankShare = share,
        };
    }

    /// <summary>
    /// The data of the filtered tests: 36 patches of L = 9 made from a Fourier–Bessel map at ℓmax 3 under 8 rotations (σ = 0.5,
    /// 20 % empty), and a start x₀ near that map.
    /// </summary>
    private static (FourierBesselModel Model, RotationSet Rotations, double[] Data, double[] X0) FilteredData()
    {
        var model = new FourierBesselModel(FourierBesselBasis.Create(9, 3));
        var rot = new RotationSet(EmData.Rotations(8, 31));
        var x = EmData.RandomVector(model.ParameterCount, 0.5, 32);
        var (made, _) = EmData.Make(model, rot.Rotations, x, 36, sigma: 0.5, emptyFraction: 0.2, seed: 33);
        return (model, rot, made.Data, x.Zip(EmData.RandomVector(x.Length, 0.3, 34), (a, b) => a + b).ToArray());
    }

    /// <summary>
    /// Three micrographs (12 patches each, in micrograph order) with their own CTF, one whitened, one with a signal scale: the
    /// filtered forward model of the CTF issue, which every rank must rebuild from the joined metadata.
    /// </summary>
    private static (PatchSet Full, ForwardModel Forward, FourierBesselModel Model, RotationSet Rotations, double[] X0) ThreeMicrographs()
    {
        var (model, rot, data, x0) = FilteredData();
        int l = model.ImageSize, p = data.Length / (l * l);
        var origins = Enumerable.Range(0, p).Select(q => new PatchOrigin(q / 12, (q % 12) * l, 0)).ToArray();
        var content = Enumerable.Range(0, p).Select(q => (PatchContent)(1 + q % 3)).ToArray();
        var full = new PatchSet(l, data, origins, content, 0.25, new[] { "a", "b", "c" }, 3)
        {
            Ctfs = Enumerable.Range(0, 3).Select(g => (Ctf?)new Ctf(12000 + 4000 * g, 11000 + 4000 * g, 20 * g, 300, 2.7, 0.1, 3)).ToArray(),
            Whitenings = new NoiseSpectrum?[] { null, new NoiseSpectrum(new[] { 2.0, 1.5, 1.0, 0.8 }, 3, "measured"), null },
            SignalScales = new[] { 1, 1, 0.8 },
        };
        var filters = DefocusGrouping.Filters(full.Ctfs, full.Whitenings, 3, 3, 1, 0, full.SignalScales);
        return (full, new ForwardModel(l, filters), model, rot, x0);
    }

    /// <summary>
    /// Joining the ranks' own patch sets gives every rank the patch set one process cuts from all the micrographs: the same
    /// origins, content, names, CTFs, whitenings, scales and fingerprint; each rank holds exactly the pixels it loaded.
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void JoinedSharesAreTheWholeSetWithPixelsWhereTheyWereLoaded(int size)
    {
        var full = ThreeMicrographs().Full;
        var joined = OnRanks(size, world => (world.Rank, Set: PatchSetShares.Join(ShareOf(full, world.Rank, world.Size), world),
            Fingerprint: PatchSetShares.Join(ShareOf(full, world.Rank, world.Size), world) is var set ? set.Fingerprint(world) : ""));
        foreach (var (rank, set, fingerprint) in joined)
        {
            Assert.Equal(full.Fingerprint(), fingerprint);
            Assert.Equal(full.Origins, set.Origins);
            Assert.Equal(full.Content, set.Content);
            Assert.Equal(full.MicrographNames, set.MicrographNames);
            Assert.Equal(full.Ctfs, set.Ctfs);
            Assert.Equal(full.Whitenings, set.Whitenings);
            Assert.Equal(full.SignalScales, set.SignalScales);
            Assert.Equal(full.NoiseVariance, set.NoiseVariance);
            Assert.Equal(full.PixelSize, set.PixelSize);
            Assert.Null(set.RankShare);
            Assert.False(set.HoldsAll);
            var (first, end) = new RankShare(rank, size).Range(3);
            for (int q = 0; q < full.Count; q++)
            {
                bool mine = full.Origins[q].Micrograph >= first && full.Origins[q].Micrograph < end;
                Assert.Equal(mine, set.Holds(q));
                if (mine)
                {
                    Assert.Equal(full.Patch(q).ToArray(), set.Patch(q).ToArray());
                }
                else
                {
                    Assert.Throws<InvalidOperationException>(() => set.Patch(q).ToArray());
                }
            }
        }

        // One process: the share is the whole set.
        var alone = PatchSetShares.Join(ShareOf(full, 0, 1), SingleProcess.Instance);
        Assert.True(alone.HoldsAll);
        Assert.Equal(full.Fingerprint(), alone.Fingerprint());
    }

    /// <summary>Shares cut with different patch sizes cannot be joined: every rank gets the same error (none waits).</summary>
    [Fact]
    public void SharesOfDifferentPatchSizesAreRefusedOnEveryRank()
    {
        var errors = OnRanks(2, world =>
        {
            int l = world.Rank == 0 ? 5 : 6;
            var set = new PatchSet(l, new double[l * l], new[] { new PatchOrigin(0, 0, 0) }, null, 1, new[] { $"m{world.Rank}" })
            {
                RankShare = RankShare.Of(world),
            };
            return Record.Exception(() => PatchSetShares.Join(set, world));
        });
        Assert.All(errors, error => Assert.Contains("different patch sizes", Assert.IsType<ArgumentException>(error).Message));
    }

    /// <summary>
    /// The EM on ranks that each hold only their own micrographs (minibatches, incremental blocks, half-sets by micrograph,
    /// held-out patches, the prior, σ² estimated: a chain's minibatch often has no patch on some rank) equals one process holding
    /// everything, and its checkpoint resumes in one process with the whole patch set (the fingerprints agree).
    /// </summary>
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void RanksHoldingOnlyTheirMicrographsEqualOneProcess(int size)
    {
        var (full, forward, model, rot, x0) = ThreeMicrographs();
        ApproxEmSettings Make(PatchSet set, ICommunicator? world, string? ck = null, bool resume = false) => new()
        {
            Stages = new[] { new ApproxEmStage(model, rot, 0.5, 3, ellMax: 3) },
            NoiseVariance = 0.25, Seed = 7, Threads = 1, ForwardModel = forward, HalfSets = HalfSets.Split(set),
            HeldOut = new[] { 2, 11, 17, 23, 30 }, Prior = ApproxEmPrior.Gaussian, EstimateNoiseVariance = true,
            MStep = MStepMode.Incremental, Communicator = world, Precision = EStepPrecision.Double, CheckpointPath = ck, Resume = resume,
        };

        var alone = ApproxEm.Run(full, x0, Make(full, null));
        string dir = Path.Combine(Path.GetTempPath(), "cryoemps-shares-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string ck = Path.Combine(dir, "em.ckpt");
            var ranks = OnRanks(size, world =>
            {
                var set = PatchSetShares.Join(ShareOf(full, world.Rank, world.Size), world);
                return ApproxEm.Run(set, x0, Make(set, world, ck));
            });
            Assert.All(ranks, run => Assert.Equal(ranks[0].Coefficients, run.Coefficients));
            AssertAgrees(alone, ranks[0], 1e-11);

            // The checkpoint of the sharded run belongs to the whole patch set: one process resumes it (a finished run: its
            // last E-step is redone) and returns the same map.
            var resumed = ApproxEm.Run(full, x0, Make(full, null, ck, resume: true));
            Assert.True(resumed.Resumed);
            Assert.True(RelativeDifference(resumed.Coefficients, ranks[0].Coefficients) < 1e-11);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// Through the request (what Invoke-ApproxEm runs): each rank passes only its share (RankShare set); the request joins them,
    /// takes σ²'s start from every rank's pixels, fits the initial scale on the ranks, and the run equals one process's.
    /// </summary>
    [Fact]
    public void ARequestJoinsTheRanksSharesAndEqualsOneProcess()
    {
        var (full, _, _, _, _) = ThreeMicrographs();
        var plain = new PatchSet(full.PatchSize, full.Data, full.Origins, full.Content, double.NaN, full.MicrographNames);
        ApproxEmRequest Request(PatchSet set, ICommunicator? world) => new()
        {
            Patches = set, EllMax = new[] { 2, 3 }, RotationCount = new[] { 12 }, StochasticFactor = new[] { 0.5 }, MaxIterations = new[] { 2 },
            Seed = 3, Threads = 1, Precision = EStepPrecision.Double, FitInitialScale = true, Communicator = world,
        };

        var alone = ApproxEmReconstruction.Run(Request(plain, null));
        var ranks = OnRanks(2, world => ApproxEmReconstruction.Run(Request(ShareOf(plain, world.Rank, world.Size), world)));
        Assert.Equal(ranks[0].FourierBesselVolume.Coefficients, ranks[1].FourierBesselVolume.Coefficients);
        // σ²'s start (the mean square of every pixel) is the same bits on any rank count: the checkpoint key compares it.
        Assert.Equal(alone.InitialNoiseVariance, ranks[0].InitialNoiseVariance);
        Assert.Equal(alone.NoiseVariance, ranks[0].NoiseVariance, 1e-9 * alone.NoiseVariance);
        Assert.Equal(alone.InitialScale, ranks[0].InitialScale, 1e-9 * alone.InitialScale);
        double difference = RelativeDifference(ranks[0].FourierBesselVolume.Coefficients, alone.FourierBesselVolume.Coefficients);
        Assert.True(difference < 1e-10, $"coefficients differ by {difference:g3} (relative)");

        // A share handed to a process of another world is refused before anything is exchanged.
        var foreign = ShareOf(plain, 1, 2);
        Assert.Equal("RankShareMismatch", Assert.Throws<ApproxEmInputException>(() => Request(foreign, null).Resolve()).ErrorId);
    }

    /// <summary>
    /// A rank's share is a contiguous run; the shares cover every patch once, in order. Of a joined share (pixels spread over the
    /// ranks) a rank's share is the patches it holds, even none, and such an E-step is always split.
    /// </summary>
    [Fact]
    public void SharesAreContiguousAndCoverEveryPatch()
    {
        var whole = new PatchSet(1, new double[70], Enumerable.Range(0, 70).Select(q => new PatchOrigin(q / 10, q % 10, 0)).ToArray());
        var all = Enumerable.Range(0, 23).Select(i => 3 * i + 1).ToArray();
        var hub = new Hub(4, default);
        var shares = Enumerable.Range(0, 4).Select(r => ShardedEStep.Share(all, new ThreadRank(hub, r), whole)).ToArray();
        Assert.Equal(all, shares.SelectMany(s => s));
        Assert.All(shares, s => Assert.InRange(s.Length, 5, 6));
        Assert.False(ShardedEStep.Splits(new ThreadRank(hub, 0), 3, whole));
        Assert.True(ShardedEStep.Splits(new ThreadRank(hub, 0), 4, whole));
        Assert.False(ShardedEStep.Splits(SingleProcess.Instance, 100, whole));

        // Rank 1 holds patches 10..39 of a joined set.
        var held = new PatchSet(1, new double[30], whole.Origins, held: Enumerable.Range(10, 30).ToArray());
        Assert.Equal(all.Where(q => q >= 10 && q < 40), ShardedEStep.Share(all, new ThreadRank(hub, 1), held));
        Assert.Empty(ShardedEStep.Share(new[] { 1, 2, 50 }, new ThreadRank(hub, 1), held));
        Assert.True(ShardedEStep.Splits(new ThreadRank(hub, 1), 1, held));
        Assert.False(ShardedEStep.Splits(new ThreadRank(hub, 1), 0, held));
    }
}
