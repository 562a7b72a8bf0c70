using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Simulation;

/// <summary>What a micrograph simulation should make (paper Sections 2 and 4).</summary>
public sealed class MicrographSimulationOptions
{
    /// <summary>N, the side of the delivered micrograph in pixels.</summary>
    public int Size { get; set; }
    /// <summary>T, the number of projections asked for (exclusive with <see cref="Density"/>).</summary>
    public int? ParticleCount { get; set; }
    /// <summary>γ = T·L²/N² (exclusive with <see cref="ParticleCount"/>); T = round(γ·N²/L²) with L the delivered particle size.</summary>
    public double? Density { get; set; }
    /// <summary>The SNR of eq. (4); for Method 1 the SNR at full size (before downsampling), as in the paper.</summary>
    public double Snr { get; set; } = 1;
    public ParticleSpacing Spacing { get; set; } = ParticleSpacing.WellSeparated;
    /// <summary>Rotations to draw from uniformly; null = uniform random on SO(3).</summary>
    public RotationSet? Rotations { get; set; }
    public int Seed { get; set; }
    /// <summary>Keep the noise-free image in <see cref="Micrograph.Clean"/>.</summary>
    public bool IncludeClean { get; set; }
    /// <summary>
    /// Method 1: the delivered particle size L (projections are made at the projector's full size L̃ and the micrograph is
    /// Fourier-downsampled). Null = Method 2.
    /// </summary>
    public int? DownsampleTo { get; set; }

    /// <summary>
    /// The microscope's CTF, applied to the whole clean micrograph at the simulated (full) pixel size, as the microscope does:
    /// neighbours interfere and signal spreads beyond each particle's box. Its pixel size is replaced by the projector's. The
    /// SNR of eq. (4) is then measured on the CTF-filtered projections. Null = no CTF.
    /// </summary>
    public Ctf? Ctf { get; set; }

    /// <summary>
    /// The shape of the noise power spectrum, in cycles/pixel of the delivered micrograph (only its shape matters: it is
    /// scaled so the noise variance per pixel is the σ² of the SNR). Null = white noise.
    /// </summary>
    public NoiseSpectrum? NoiseSpectrum { get; set; }

    /// <summary>Negate the delivered image, as raw cryo-EM micrographs show particles dark (the CTF stays RELION's).</summary>
    public bool InvertContrast { get; set; }
}

/// <summary>A message from the simulator to the caller (the cmdlet writes it on its pipeline thread).</summary>
public readonly record struct SimulationReport(SimulationReportKind Kind, string Message, int Percent = -1);

public enum SimulationReportKind { Progress, Verbose, Warning }

/// <summary>A simulation parameter was out of range (the message says which and how to fix it).</summary>
public sealed class SimulationArgumentException : ArgumentException
{
    public SimulationArgumentException(string errorId, string message, string? paramName = null)
        : base(message, paramName)
    {
        ErrorId = errorId;
    }

    /// <summary>A stable id for the cmdlet's ErrorRecord.</summary>
    public string ErrorId { get; }
}

/// <summary>
/// Simulates micrographs I = Σ_t I_{ω_t}[· − ℓ_t] + ε (eq. 3). Positions by random sequential
/// adsorption (<see cref="ParticlePlacement"/>), rotations uniform on SO(3) or uniform over a rotation
/// set, white Gaussian noise of variance σ² = mean_t ‖I_t‖²_F / (L²·SNR) over the projections actually
/// placed (eq. 4). Method 2 projects at the projector's size L; Method 1 projects at full size L̃, places
/// in an M×M micrograph with M = ceil(N·L̃/L), adds noise there, and Fourier-downsamples to N×N.
/// Bit-identical for the same seed whatever the thread count: projections run in parallel into
/// separate buffers and are summed in placement order; noise comes from per-row-block generators
/// seeded from the micrograph seed.
/// </summary>
public static class MicrographSimulator
{
    private const int NoiseRowsPerBlock = 16;

    /// <summary>
    /// The seed of micrograph <paramref name="index"/> of a series started with <paramref name="seed"/> (index 0 keeps the seed).
    /// </summary>
    public static int DeriveSeed(int seed, int index)
    {
        if (index == 0)
        {
            return seed;
        }
        ulong z = SplitMix64.Mix((ulong)(uint)seed * SplitMix64.Gamma + (ulong)index);
        int s = (int)(z & 0x7FFFFFFF);
        return s == 0 ? 1 : s;
    }

    private static int SubSeed(int seed, ulong stream)
        => (int)(SplitMix64.Mix(((ulong)(uint)seed << 20) ^ (stream * 0xD6E8FEB86659FD93UL)) & 0x7FFFFFFF);

    /// <summary>The most pixels one simulated micrograph may have (the largest .NET array of doubles).</summary>
    public const long MaxPixels = 0x7FFFFFC7;

    /// <summary>Checks the options against the projector; throws <see cref="SimulationArgumentException"/> with a stable ErrorId.</summary>
    public static void Validate(IProjector projector, MicrographSimulationOptions o)
    {
        ArgumentNullException.ThrowIfNull(projector);
        Validate(projector.Size, o);
        if (o.Ctf != null && !(projector.PixelSize > 0))
        {
            throw new SimulationArgumentException("CtfNeedsPixelSize",
                $"A CTF needs the volume's voxel size to turn pixels into spatial frequencies; '{projector.Name}' has none. " +
                "Give the volume a voxel size (e.g. New-EmVolume -VoxelSize, or Import-EmVolume of an MRC with one).", nameof(o.Ctf));
        }
    }

    /// <summary>Checks the options for a projector of side <paramref name="projectorSize"/> (L̃), before any projector is built.</summary>
    public static void Validate(int projectorSize, MicrographSimulationOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (!(o.Snr > 0) || double.IsInfinity(o.Snr))
        {
            throw new SimulationArgumentException("InvalidSnr",
                $"The SNR must be a positive finite number; got {o.Snr}. Give e.g. -Snr 1 (eq. 4: mean ‖I‖²/(L²σ²)).", nameof(o.Snr));
        }
        if (o.ParticleCount.HasValue && o.Density.HasValue)
        {
            throw new SimulationArgumentException("CountAndDensity",
                "Give either the particle count T or the density γ = T·L²/N², not both.", nameof(o.Density));
        }
        if (o.Density.HasValue && (!(o.Density.Value > 0) || double.IsInfinity(o.Density.Value)))
        {
            throw new SimulationArgumentException("InvalidDensity",
                $"The density γ = T·L²/N² must be positive and finite; got {o.Density}. The paper uses γ = 0.4.", nameof(o.Density));
        }
        if (o.ParticleCount.HasValue && o.ParticleCount.Value < 1)
        {
            throw new SimulationArgumentException("InvalidParticleCount",
                $"The particle count must be at least 1; got {o.ParticleCount}.", nameof(o.ParticleCount));
        }
        int lFull = projectorSize;
        if (o.DownsampleTo.HasValue)
        {
            int l = o.DownsampleTo.Value;
            if (l < 1 || l > lFull)
            {
                throw new SimulationArgumentException("DownsampleTooLarge",
                    $"-DownsampleTo {l} must be between 1 and the volume size {lFull}: Method 1 projects at the full size and " +
                    $"Fourier-downsamples the micrograph, so it can only shrink. Use Resize-EmVolume to upsample a volume.",
                    nameof(o.DownsampleTo));
            }
        }
        int lDelivered = o.DownsampleTo ?? lFull;
        if (o.Size < lDelivered)
        {
            throw new SimulationArgumentException("MicrographTooSmall",
                $"The micrograph size N = {o.Size} is smaller than the particle size L = {lDelivered}; " +
                $"N must be at least L (the paper uses N = 1003 for L = 17).",
                nameof(o.Size));
        }
        // The simulated micrograph (M×M, M = ceil(N·L̃/L) for Method 1) must fit one .NET array.
        long mSim = o.DownsampleTo.HasValue ? (long)Math.Ceiling((double)o.Size * lFull / lDelivered - 1e-9) : o.Size;
        if (mSim * mSim > MaxPixels)
        {
            throw new SimulationArgumentException("MicrographTooLarge",
                $"A {mSim}×{mSim} micrograph has more than {MaxPixels} pixels, the most one image can hold. " +
                $"Give a smaller -Size (the paper uses N = 1003){(o.DownsampleTo.HasValue ? " or a larger -DownsampleTo" : "")}.",
                nameof(o.Size));
        }
    }

    /// <summary>
    /// A CTF for micrograph seed <paramref name="seed"/> with its mean defocus drawn uniformly from
    /// [<paramref name="minimumDefocus"/>, <paramref name="maximumDefocus"/>] Å, astigmatism |U − V|/2 uniform in [0, 200] Å at
    /// a uniform angle, and the optics (voltage, Cs, amplitude contrast, phase shift, B-factor, pixel size) of
    /// <paramref name="template"/>. The draw uses its own stream of the seed, so the particles and noise stay as without it.
    /// </summary>
    public static Ctf DrawCtf(Ctf template, double minimumDefocus, double maximumDefocus, int seed)
    {
        if (!(minimumDefocus > 0) || !(maximumDefocus >= minimumDefocus) || double.IsInfinity(maximumDefocus))
        {
            throw new SimulationArgumentException("InvalidDefocusRange",
                $"The defocus range must be two positive underfocus values in Å, the smaller first; got {minimumDefocus}..{maximumDefocus}. " +
                "For example -DefocusRange 10000, 25000 (1 to 2.5 µm).", "DefocusRange");
        }

        var random = new SeededRandom(SubSeed(seed, 7));
        double mean = minimumDefocus + (maximumDefocus - minimumDefocus) * random.NextDouble();
        double astigmatism = Math.Min(200 * random.NextDouble(), 0.5 * mean);
        double angle = 180 * random.NextDouble();
        return new Ctf(mean + astigmatism, mean - astigmatism, angle, template.Voltage, template.SphericalAberration,
            template.AmplitudeContrast, template.PixelSize, template.PhaseShift, template.BFactor);
    }

    /// <summary>T for the options: the count, or round(γ·N²/L²) (at least 1).</summary>
    public static int RequestedCount(MicrographSimulationOptions o, int particleSize)
    {
        if (o.ParticleCount.HasValue)
        {
            return o.ParticleCount.Value;
        }
        if (o.Density.HasValue)
        {
            return (int)Math.Max(1,
                Math.Min(int.MaxValue, Math.Round(o.Density.Value * o.Size * (double)o.Size / ((double)particleSize * particleSize))));
        }
        return 1;
    }

    /// <summary>Simulates one micrograph with seed <see cref="MicrographSimulationOptions.Seed"/>.</summary>
    public static Micrograph Simulate(IProjector projector, MicrographSimulationOptions o, IProgress<SimulationReport>? progress = null,
        CancellationToken cancellationToken = default)
    {
        Validate(projector, o);
        bool method1 = o.DownsampleTo.HasValue;
        int lFull = projector.Size;                         // projection size as made
        int l = o.DownsampleTo ?? lFull;                    // delivered particle size
        int n = o.Size;                                     // delivered micrograph size
        int m = method1 ? (int)Math.Ceiling((double)n * lFull / l - 1e-9) : n; // simulated micrograph size
        int requested = RequestedCount(o, l);

        // Where the particles go, then their rotations (placement order, the same generator).
        var random = new SeededRandom(SubSeed(o.Seed, 1));
        var anchors = PlaceParticles(o, n, m, l, lFull, requested, random, progress, cancellationToken);
        var (rotations, rotationIndex) = DrawRotations(o, anchors.Count, random);

        // Stage 1 of the forward model: the projections, one per distinct pose; σ² from their power (eq. 4).
        var (projections, slot, distinctCount) = ProjectPoses(projector, rotations, rotationIndex, o.Rotations != null, progress,
            cancellationToken);
        var ctf = o.Ctf?.WithPixelSize(projector.PixelSize);
        Func<double, double, double>? ctfTransfer = ctf == null
            ? null
            : (fx, fy) => ctf.Evaluate(fx / ctf.PixelSize, fy / ctf.PixelSize);
        double power = SignalPower(projector, projections, slot, lFull, distinctCount, ctfTransfer);
        double sigma2 = power / ((double)lFull * lFull * o.Snr);

        // Stages 2–3: each projection through the micrograph's filter, placed at its anchor in the clean image.
        var clean = new double[(long)m * m];
        var truths = new ParticleTruth[anchors.Count];
        var forward = new ForwardModel(lFull);
        PlaceProjections(forward, forward.Filter(0, projections, distinctCount), slot, anchors, method1, n, m, l, clean);
        for (int i = 0; i < anchors.Count; i++)
        {
            truths[i] = new ParticleTruth(anchors[i].Row, anchors[i].Column, rotations[i], rotationIndex[i]);
        }

        cancellationToken.ThrowIfCancellationRequested();

        // The CTF acts on the whole clean micrograph (the microscope's optics act on the whole field).
        if (ctfTransfer != null)
        {
            progress?.Report(new(SimulationReportKind.Progress, "Applying the CTF", 85));
            FourierFilter.Apply(clean, m, m, ctfTransfer, cancellationToken);
        }

        // Stage 5: white noise from per-row-block generators, so the result does not depend on threads; coloured by the
        // spectrum's shape when one is given (scaled to variance σ² over the simulated grid).
        var noisy = new double[clean.Length];
        double realised;
        NoiseSpectrum? fullSpectrum = null;
        if (o.NoiseSpectrum == null || o.NoiseSpectrum.IsWhite)
        {
            realised = new WhiteGaussianNoise(sigma2).AddTo(clean, noisy, m, NoiseRowsPerBlock,
                block => SubSeed(o.Seed, 1000UL + (ulong)block), cancellationToken);
        }
        else
        {
            // The shape is given in delivered cycles/pixel; at the simulated size frequency f is f·M/N delivered.
            double ratio = (double)m / n;
            var shape = o.NoiseSpectrum;
            fullSpectrum = new NoiseSpectrum(Enumerable.Range(0, shape.Count).Select(i => shape.At(shape.Frequency(i) * ratio)).ToArray(),
                projector.PixelSize, shape.Name);
            double scale = sigma2 / fullSpectrum.Variance(m, m);
            fullSpectrum = fullSpectrum.Scaled(scale);
            var noise = new double[clean.Length];
            new WhiteGaussianNoise(1).AddTo(new double[clean.Length], noise, m, NoiseRowsPerBlock,
                block => SubSeed(o.Seed, 1000UL + (ulong)block), cancellationToken);
            var colour = fullSpectrum;
            FourierFilter.Apply(noise, m, m, (fx, fy) => Math.Sqrt(colour.At(Math.Sqrt(fx * fx + fy * fy))), cancellationToken);
            realised = 0;
            for (long i = 0; i < noisy.LongLength; i++)
            {
                noisy[i] = clean[i] + noise[i];
                realised += noise[i] * noise[i];
            }
        }

        realised /= clean.Length;
        progress?.Report(new(SimulationReportKind.Progress, "Adding noise", 90));

        // Method 1: Fourier-downsample the M×M micrograph to N×N (the noise variance and pixel size follow).
        double[] data = noisy, cleanOut = clean;
        double noiseVariance = sigma2;
        double pixelSize = projector.PixelSize;
        if (method1)
        {
            data = FourierResize.Resize2D(noisy, m, m, n, n, cancellationToken);
            cleanOut = o.IncludeClean ? FourierResize.Resize2D(clean, m, m, n, n, cancellationToken) : clean;
            double varianceFactor = FourierResize.NoiseVarianceFactor(m, n);
            noiseVariance = sigma2 * varianceFactor * varianceFactor;
            pixelSize = pixelSize > 0 ? pixelSize * m / n : 0;
        }

        // The noise spectrum as delivered: Method 1's crop keeps frequencies up to the delivered Nyquist, each scaled like the
        // white-noise variance.
        NoiseSpectrum? deliveredSpectrum = null;
        if (fullSpectrum != null)
        {
            double ratio = (double)n / m, factor = noiseVariance / sigma2;
            var full = fullSpectrum;
            deliveredSpectrum = new NoiseSpectrum(
                Enumerable.Range(0, o.NoiseSpectrum!.Count).Select(i => factor * full.At(o.NoiseSpectrum.Frequency(i) * ratio)).ToArray(),
                pixelSize, o.NoiseSpectrum.Name);
            // The delivered variance is the delivered spectrum's mean over the N×N grid (Method 1 keeps only the low band, where a
            // coloured spectrum need not have its mean power; for Method 2 this is σ²).
            noiseVariance = deliveredSpectrum.Variance(n, n);
        }

        if (o.InvertContrast)
        {
            for (long i = 0; i < data.LongLength; i++)
            {
                data[i] = -data[i];
            }

            if (o.IncludeClean)
            {
                for (long i = 0; i < cleanOut.LongLength; i++)
                {
                    cleanOut[i] = -cleanOut[i];
                }
            }
        }

        var micrograph = new Micrograph(n, n, data, pixelSize, projector.Name)
        {
            Ctf = ctf != null && pixelSize > 0 ? ctf.WithPixelSize(pixelSize) : null,
            NoiseSpectrum = deliveredSpectrum ?? (o.NoiseSpectrum != null ? NoiseSpectrum.White(noiseVariance, pixelSize) : null),
            NoiseVariance = noiseVariance,
            RequestedSnr = o.Snr,
            MeasuredSnr = power / ((double)lFull * lFull * realised),
            Truth = new MicrographTruth(truths, l, projector.Name),
            RequestedParticleCount = requested,
            Spacing = o.Spacing,
            Method = method1 ? "Method1" : "Method2",
            Seed = o.Seed,
            Clean = o.IncludeClean ? cleanOut : null,
        };
        progress?.Report(new(SimulationReportKind.Progress, "Done", 100));
        return micrograph;
    }

    /// <summary>
    /// The particles' corners in delivered pixels, by random sequential adsorption, with warnings when fewer fit than asked.
    /// For Method 1 a delivered corner c maps to the full-size corner
    /// A(c) = round(floor(M/2) + (c + floor(L/2) − floor(N/2))·M/N − floor(L̃/2)); only corners with A(c) inside are used.
    /// </summary>
    private static IReadOnlyList<(int Row, int Column)> PlaceParticles(MicrographSimulationOptions o, int n, int m, int l, int lFull,
        int requested, Random random, IProgress<SimulationReport>? progress, CancellationToken cancellationToken)
    {
        bool method1 = o.DownsampleTo.HasValue;
        int lo = 0, hi = n - l;
        if (method1)
        {
            while (lo <= hi && FullCorner(lo, n, m, l, lFull) < 0)
            {
                lo++;
            }

            while (hi >= lo && FullCorner(hi, n, m, l, lFull) > m - lFull)
            {
                hi--;
            }
        }

        long bound = ParticlePlacement.MaxCount(lo, hi, l, o.Spacing);
        if (requested > bound)
        {
            progress?.Report(new(SimulationReportKind.Warning,
                $"No {o.Spacing} placement of {l}×{l} projections in a {n}×{n} micrograph can hold {requested} particles " +
                $"(γ = {(double)requested * l * l / ((double)n * n):0.###}); at most {bound} fit. Placing as many as fit."));
        }

        var anchors = ParticlePlacement.Place(lo, hi, l, o.Spacing, requested, random, cancellationToken);
        int placed = anchors.Count;
        if (placed < requested)
        {
            progress?.Report(new(SimulationReportKind.Warning,
                $"Placed {placed} of the {requested} particles asked for: the {n}×{n} micrograph jammed under {o.Spacing} spacing " +
                $"(L = {l}). ParticleCount gives the real count."));
        }

        progress?.Report(new(SimulationReportKind.Verbose,
            $"Placed {placed} particles ({o.Spacing}, L = {l}, N = {n}{(method1 ? $", simulated at {m}×{m} with L̃ = {lFull}" : "")})."));
        return anchors;
    }

    /// <summary>
    /// One rotation per particle, in placement order: uniform over the option's rotation set (index kept), or Haar-uniform on
    /// SO(3) (index −1).
    /// </summary>
    private static (Rotation[] Rotations, int[] Index) DrawRotations(MicrographSimulationOptions o, int count, Random random)
    {
        var rotations = new Rotation[count];
        var index = new int[count];
        for (int i = 0; i < count; i++)
        {
            if (o.Rotations != null)
            {
                index[i] = random.Next(o.Rotations.Count);
                rotations[i] = o.Rotations[index[i]];
            }
            else
            {
                index[i] = -1;
                rotations[i] = UniformRotation.Draw(random);
            }
        }

        return (rotations, index);
    }

    /// <summary>
    /// Stage 1: the projections of the distinct poses, in parallel into separate buffers, [pose, y, x]; slot[i] is particle i's
    /// pose (rotations from a set share one projection per set member).
    /// </summary>
    private static (double[] Projections, int[] Slot, int DistinctCount) ProjectPoses(IProjector projector, Rotation[] rotations,
        int[] rotationIndex, bool fromSet, IProgress<SimulationReport>? progress, CancellationToken cancellationToken)
    {
        int count = rotations.Length, l2 = projector.Size * projector.Size;
        int[] slot = new int[count];
        var distinct = new List<Rotation>();
        if (fromSet)
        {
            var map = new Dictionary<int, int>();
            for (int i = 0; i < count; i++)
            {
                if (!map.TryGetValue(rotationIndex[i], out int distinctIndex))
                {
                    distinctIndex = distinct.Count;
                    map[rotationIndex[i]] = distinctIndex;
                    distinct.Add(rotations[i]);
                }

                slot[i] = distinctIndex;
            }
        }
        else
        {
            for (int i = 0; i < count; i++)
            {
                slot[i] = i;
                distinct.Add(rotations[i]);
            }
        }

        var projections = new double[(long)distinct.Count * l2];
        int done = 0;
        Parallel.For(0, distinct.Count, new ParallelOptions { CancellationToken = cancellationToken }, k =>
        {
            projector.Project(distinct[k], projections.AsSpan(k * l2, l2));
            int projected = Interlocked.Increment(ref done);
            if (progress != null && (projected & 63) == 0)
            {
                progress.Report(new(SimulationReportKind.Progress, $"Projecting {projected}/{distinct.Count}",
                    (int)(80L * projected / distinct.Count)));
            }
        });
        return (projections, slot, distinct.Count);
    }

    /// <summary>
    /// The mean ‖I_t‖² over the projections placed (eq. 4), of the CTF-filtered projections when <paramref name="ctf"/> is given
    /// (their whole energy, delocalised signal included); throws ZeroSignal when it is not positive and finite.
    /// </summary>
    private static double SignalPower(IProjector projector, double[] projections, int[] slot, int size, int distinctCount,
        Func<double, double, double>? ctf)
    {
        int l2 = size * size;
        double[] energies;
        if (ctf != null)
        {
            energies = FourierFilter.FilteredEnergies(projections, size, distinctCount, ctf);
        }
        else
        {
            energies = new double[distinctCount];
            for (int k = 0; k < distinctCount; k++)
            {
                double energy = 0;
                foreach (var v in projections.AsSpan(k * l2, l2))
                {
                    energy += v * v;
                }

                energies[k] = energy;
            }
        }

        double power = 0;
        for (int i = 0; i < slot.Length; i++)
        {
            power += energies[slot[i]];
        }

        power /= Math.Max(1, slot.Length);
        if (!(power > 0) || double.IsInfinity(power))
        {
            throw new SimulationArgumentException("ZeroSignal",
                $"The projections of '{projector.Name}' have no energy (mean ‖I‖² = {power}), so no noise level gives the requested SNR. " +
                $"Check the volume (is it all zeros?).");
        }

        return power;
    }

    /// <summary>
    /// Stages 2–3: each particle's filtered projection (B×B, the identity today: B = L̃, one group) added at its anchor (the
    /// full-size corner for Method 1) into the M×M clean image, in placement order. (The CTF issue gives the simulator a
    /// filter per micrograph; it will act on the whole clean micrograph, as the microscope does, so that neighbours
    /// interfere and signal leaves the particle's box.)
    /// </summary>
    private static void PlaceProjections(ForwardModel forward, double[] filtered, int[] slot, IReadOnlyList<(int Row, int Column)> anchors,
        bool method1, int n, int m, int l, double[] clean)
    {
        int box = forward.BoxSize, boxPixels = box * box, lFull = forward.ImageSize;
        for (int i = 0; i < anchors.Count; i++)
        {
            var (r, c) = anchors[i];
            int fullRow = method1 ? FullCorner(r, n, m, l, lFull) : r;
            int fullColumn = method1 ? FullCorner(c, n, m, l, lFull) : c;
            ForwardModel.Place(filtered.AsSpan(slot[i] * boxPixels, boxPixels), box, clean, m, fullRow - forward.Margin,
                fullColumn - forward.Margin);
        }
    }

    /// <summary>Method 1: the full-size corner of the projection whose delivered corner is <paramref name="c"/>.</summary>
    public static int FullCorner(int c, int n, int m, int l, int lFull)
        => (int)Math.Round(m / 2 + (c + l / 2 - n / 2) * (double)m / n - lFull / 2, MidpointRounding.AwayFromZero);
}
