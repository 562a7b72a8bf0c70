using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Simulation;

/// <summary>How projections may be placed in a simulated micrograph.</summary>
public enum ParticleSpacing
{
    /// <summary>Eq. (5): boxes of side 2L−1 anchored at the projections' corners never overlap, so every L×L patch holds at most one projection.</summary>
    WellSeparated,
    /// <summary>Section 4.2: projections do not overlap (their L×L boxes are disjoint) but may touch.</summary>
    Arbitrary,
}

/// <summary>One particle placed in a simulated micrograph.</summary>
public sealed class ParticleTruth
{
    public ParticleTruth(int row, int column, Rotation rotation, int rotationIndex = -1)
    {
        Row = row; Column = column; Rotation = rotation; RotationIndex = rotationIndex;
    }

    /// <summary>Row (y) of the projection's top-left corner in the delivered micrograph, pixels.</summary>
    public int Row { get; }
    /// <summary>Column (x) of the projection's top-left corner in the delivered micrograph, pixels.</summary>
    public int Column { get; }
    public Rotation Rotation { get; }
    /// <summary>Index into the rotation set it was drawn from, or −1 for uniform random.</summary>
    public int RotationIndex { get; }
    public override string ToString() => $"Particle at (row {Row}, col {Column}) {Rotation}";
}

/// <summary>The ground truth of a simulated micrograph.</summary>
public sealed class MicrographTruth
{
    public MicrographTruth(IReadOnlyList<ParticleTruth> particles, int particleSize, string volumeName)
    {
        Particles = particles.ToArray(); ParticleSize = particleSize; VolumeName = volumeName;
    }

    public ParticleTruth[] Particles { get; }
    /// <summary>L: side of a projection in the delivered micrograph's pixels.</summary>
    public int ParticleSize { get; }
    public string VolumeName { get; }
    public override string ToString() => $"{Particles.Length} particles of {ParticleSize}² px from '{VolumeName}'";
}

/// <summary>
/// A micrograph: an N×N image [y, x] (x fastest). Simulated ones carry their truth, seed and noise level.
/// <see cref="NoiseVariance"/> is the white-noise variance σ² of the image as delivered (NaN when unknown).
/// </summary>
public sealed class Micrograph
{
    public Micrograph(int sizeY, int sizeX, double[]? data = null, double pixelSize = 0, string? name = null)
    {
        if (sizeY <= 0 || sizeX <= 0) throw new ArgumentOutOfRangeException(nameof(sizeY), $"Micrograph dimensions must be positive; got {sizeY}x{sizeX}.");
        long n = (long)sizeY * sizeX;
        if (n > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(sizeY), "Micrograph too large.");
        if (data != null && data.Length != n) throw new ArgumentException("Data length does not match the micrograph size.", nameof(data));
        SizeY = sizeY; SizeX = sizeX;
        Data = data ?? new double[n];
        PixelSize = pixelSize;
        Name = name ?? "";
    }

    public int SizeY { get; }
    public int SizeX { get; }
    /// <summary>N for a square micrograph (the larger side otherwise).</summary>
    public int Size => Math.Max(SizeY, SizeX);
    public double[] Data { get; }
    public double PixelSize { get; set; }
    public string Name { get; set; }
    /// <summary>
    /// The MRC file this micrograph was last read from or written to (Import-Micrograph, Export-Micrograph; "n@file" for the
    /// n-th micrograph of a stack); null when it never was. Export-ParticleCoordinate names it as _rlnMicrographName.
    /// </summary>
    public string? FilePath { get; set; }

    /// <summary>σ² of the white noise in the delivered image; NaN when unknown.</summary>
    public double NoiseVariance { get; set; } = double.NaN;
    public double RequestedSnr { get; set; } = double.NaN;
    /// <summary>Eq. (4) measured: mean ‖I_t‖²/L² of the projections placed, over the realised noise variance.</summary>
    public double MeasuredSnr { get; set; } = double.NaN;
    public MicrographTruth? Truth { get; set; }
    public int ParticleCount => Truth?.Particles.Length ?? 0;
    public int RequestedParticleCount { get; set; }
    public ParticleSpacing? Spacing { get; set; }
    /// <summary>"Method2" (project at L) or "Method1" (project at full size, downsample), or "" for imported data.</summary>
    public string Method { get; set; } = "";
    public int? Seed { get; set; }
    /// <summary>The noise-free image, when simulated with -IncludeClean.</summary>
    public double[]? Clean { get; set; }

    /// <summary>
    /// The microscope's contrast transfer function for this micrograph (simulated, or attached from a RELION STAR or CTFFIND4
    /// file); null when unknown or absent. Its <see cref="Projection.Ctf.PixelSize"/> is the micrograph's.
    /// </summary>
    public Ctf? Ctf { get; set; }

    /// <summary>
    /// The noise power spectrum of the image as it is now: the simulator's (coloured noise) or an estimate
    /// (Measure-NoiseSpectrum); null when unknown. A whitened micrograph has a flat one.
    /// </summary>
    public NoiseSpectrum? NoiseSpectrum { get; set; }

    /// <summary>
    /// The noise spectrum the image was divided by (√, in Fourier space) to whiten it; null when not whitened. The EM's filter
    /// for this micrograph is then CTF/√PSD (<see cref="MicrographFilter"/>).
    /// </summary>
    public NoiseSpectrum? Whitening { get; set; }

    /// <summary>
    /// The factor processing has multiplied the signal by (Edit-Micrograph -Normalize: 1/σ), 1 as simulated or imported. The EM's
    /// filter for this micrograph includes it, so micrographs normalised by different σ still agree on one volume's scale.
    /// </summary>
    public double SignalScale { get; set; } = 1;

    /// <summary>
    /// The processing steps applied to this micrograph since it was simulated or imported, in order, each with its parameters
    /// (for example "Resize-Micrograph -PixelSize 3"), so that a pipeline can be reproduced from the object alone.
    /// </summary>
public List<MicrographStep> Steps { get; } = new();

    /// <summary>
    /// Set when one rank of an MPI job loaded this micrograph as part of its share (Import-Micrograph -RankShare); Get-PatchSet
    /// hands it on, and Invoke-ApproxEm joins the ranks' patch sets. Null otherwise.
    /// </summary>
    public Native.RankShare? RankShare { get; set; }

    /// <summary>
    /// A copy with its own pixels (<paramref name="data"/> of <paramref name="sizeY"/>×<paramref name="sizeX"/> when given, else a
    /// copy of <see cref="Data"/>) and every other property carried over, <see cref="Steps"/> included. Processing cmdlets
    /// return such a copy, so the micrograph they were given is never changed. The truth and the clean image are kept only
    /// when the size is unchanged.
    /// </summary>
    public Micrograph Copy(double[]? data = null, int? sizeY = null, int? sizeX = null)
    {
        int ny = sizeY ?? SizeY, nx = sizeX ?? SizeX;
        bool sameSize = ny == SizeY && nx == SizeX;
        var copy = new Micrograph(ny, nx, data ?? (double[])Data.Clone(), PixelSize, Name)
        {
            FilePath = FilePath, NoiseVariance = NoiseVariance, RequestedSnr = RequestedSnr, MeasuredSnr = MeasuredSnr,
            Truth = sameSize ? Truth : null, RequestedParticleCount = RequestedParticleCount, Spacing = Spacing, Method = Method,
            Seed = Seed, Clean = sameSize ? Clean : null, Ctf = Ctf, NoiseSpectrum = NoiseSpectrum, Whitening = Whitening,
            SignalScale = SignalScale, RankShare = RankShare,
        };
        copy.Steps.AddRange(Steps);
        return copy;
    }

    public double this[int y, int x]
    {
        get => Data[(long)y * SizeX + x];
        set => Data[(long)y * SizeX + x] = value;
    }

    public override string ToString()
    {
        string nm = string.IsNullOrEmpty(Name) ? "" : $"{Name}: ";
        string t = Truth != null ? $", {ParticleCount} particles, SNR {MeasuredSnr:0.###}" : "";
        string steps = Steps.Count == 0 ? "" : $", {Steps.Count} step{(Steps.Count == 1 ? "" : "s")} (last: {Steps[^1]})";
        return $"{nm}Micrograph {SizeY}x{SizeX}{t}{steps}";
    }
}
