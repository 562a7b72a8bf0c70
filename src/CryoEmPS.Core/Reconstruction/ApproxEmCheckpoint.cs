using System.Text;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Patches;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The state of Algorithm 1 after an E-step: stage, k, x_k, v_k, the last two objectives and the history.
/// Written atomically (temporary file + rename) after every iteration, so a killed run always leaves the previous
/// or the new checkpoint, never half of one. Binary, little-endian, versioned, with an FNV-1a checksum.
/// </summary>
public sealed class ApproxEmCheckpoint
{
    private const string Magic = "CRYOEMPS-EM-CKPT";
    // Version 2: history rows carry the E-step precision and M-step seconds; the schedule string carries the precision setting.
    private const int Version = 2;

    public ApproxEmCheckpoint(ApproxEmCheckpointKey key, int stage, int iteration, double[] x, double v, double prevQ, double q, ApproxEmIteration[] history)
    { Key = key; Stage = stage; Iteration = iteration; Coefficients = x; EmptyProbability = v; PreviousObjective = prevQ; Objective = q; History = history; }

    public ApproxEmCheckpointKey Key { get; }
    /// <summary>0-based stage index.</summary>
    public int Stage { get; }
    public int Iteration { get; }
    public double[] Coefficients { get; }
    public double EmptyProbability { get; }
    public double PreviousObjective { get; }
    public double Objective { get; }
    public ApproxEmIteration[] History { get; }

    public static ApproxEmCheckpointKey KeyOf(PatchSet patches, double[] x0, ApproxEmSettings s)
    {
        var sb = new StringBuilder();
        foreach (var st in s.Stages)
            sb.Append($"[n={st.Model.ParameterCount},l={st.EllMax},K={st.Rotations.Count}:{RotationHash(st):x16},S={st.StochasticFactor:R},N={st.MaxIterations},eps={st.Tolerance:R}]");
        sb.Append($" precision={s.Precision}");
        return new ApproxEmCheckpointKey(patches.Fingerprint(), patches.Count, patches.PatchSize, s.Seed, s.NoiseVariance, s.EmptyProbability,
            s.PosteriorCutoff, s.FftSize > 0 ? s.FftSize : ShiftPrior.FastFftSize(patches.PatchSize), Hash(x0), sb.ToString());
    }

    private static ulong RotationHash(ApproxEmStage st)
    {
        var vals = new List<double>();
        foreach (var r in st.Rotations.Rotations) for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) vals.Add(r[i, j]);
        return Hash(vals);
    }

    internal static ulong Hash(IEnumerable<double> values)
    {
        ulong h = 1469598103934665603UL;
        foreach (var v in values) { h ^= (ulong)BitConverter.DoubleToInt64Bits(v); h *= 1099511628211UL; }
        return h;
    }

    public void Verify(ApproxEmCheckpointKey current)
    {
        string? d = current.Difference(Key);
        if (d != null) throw new CheckpointMismatchException($"The checkpoint belongs to a different problem: {d}. Resume only with the same patches, initial volume, schedule, σ², v₀ and seed, or delete the checkpoint (or drop -Resume) to start afresh.");
    }

    public void Write(string path) => AtomicFile.Write(path, stream =>
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic); w.Write(Version);
            var k = Key;
            w.Write(k.PatchFingerprint); w.Write(k.PatchCount); w.Write(k.PatchSize); w.Write(k.Seed); w.Write(k.NoiseVariance);
            w.Write(k.EmptyProbability); w.Write(k.PosteriorCutoff); w.Write(k.FftSize); w.Write(k.InitialHash); w.Write(k.Schedule);
            w.Write(Stage); w.Write(Iteration); w.Write(EmptyProbability); w.Write(PreviousObjective); w.Write(Objective);
            w.Write(Coefficients.Length); foreach (var c in Coefficients) w.Write(c);
            w.Write(History.Length);
            foreach (var h in History)
            {
                w.Write(h.Stage); w.Write(h.EllMax); w.Write(h.RotationCount); w.Write(h.StochasticFactor); w.Write(h.Iteration); w.Write(h.PatchCount);
                w.Write(h.LogLikelihood); w.Write(h.LogLikelihoodPerPatch); w.Write(h.EmptyProbability); w.Write(h.Seconds); w.Write(h.FscShell);
                w.Write(h.FscFirstShellBelow ?? int.MinValue); w.Write(h.Regularization); w.Write(h.SkippedFraction); w.Write((int)h.Precision); w.Write(h.MStepSeconds);
            }
        }
        var bytes = ms.ToArray();
        stream.Write(bytes);
        stream.Write(BitConverter.GetBytes(Checksum(bytes)));
    }, overwrite: true);

    public static ApproxEmCheckpoint Read(string path)
    {
        var all = File.ReadAllBytes(path);
        if (all.Length < 8) throw new InvalidDataException($"'{path}' is not a CryoEmPS EM checkpoint (too short).");
        var body = all.AsSpan(0, all.Length - 8).ToArray();
        if (BitConverter.ToUInt64(all, all.Length - 8) != Checksum(body)) throw new InvalidDataException($"'{path}' is damaged (checksum mismatch).");
        using var r = new BinaryReader(new MemoryStream(body), Encoding.UTF8);
        try
        {
            if (r.ReadString() != Magic) throw new InvalidDataException($"'{path}' is not a CryoEmPS EM checkpoint.");
            int ver = r.ReadInt32();
            if (ver != Version) throw new InvalidDataException($"'{path}' is a version {ver} checkpoint; this module reads version {Version}.");
            var key = new ApproxEmCheckpointKey(r.ReadUInt64(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), r.ReadInt32(), r.ReadUInt64(), r.ReadString());
            int stage = r.ReadInt32(), it = r.ReadInt32();
            double v = r.ReadDouble(), pq = r.ReadDouble(), q = r.ReadDouble();
            var x = new double[r.ReadInt32()]; for (int i = 0; i < x.Length; i++) x[i] = r.ReadDouble();
            var hist = new ApproxEmIteration[r.ReadInt32()];
            for (int i = 0; i < hist.Length; i++)
            {
                int st = r.ReadInt32(), el = r.ReadInt32(), kk = r.ReadInt32(); double s = r.ReadDouble(); int iter = r.ReadInt32(), pc = r.ReadInt32();
                double ll = r.ReadDouble(), llp = r.ReadDouble(), ev = r.ReadDouble(), sec = r.ReadDouble(), shell = r.ReadDouble(); int below = r.ReadInt32();
                double lam = r.ReadDouble(), skip = r.ReadDouble(); var prec = (EStepPrecision)r.ReadInt32(); double msec = r.ReadDouble();
                hist[i] = new ApproxEmIteration
                {
                    Stage = st, EllMax = el, RotationCount = kk, StochasticFactor = s, Iteration = iter, PatchCount = pc, LogLikelihood = ll, LogLikelihoodPerPatch = llp,
                    EmptyProbability = ev, Seconds = sec, FscShell = shell, FscFirstShellBelow = below == int.MinValue ? null : below, Regularization = lam, SkippedFraction = skip,
                    Precision = prec, MStepSeconds = msec,
                };
            }
            return new ApproxEmCheckpoint(key, stage, it, x, v, pq, q, hist);
        }
        catch (EndOfStreamException) { throw new InvalidDataException($"'{path}' is truncated."); }
    }

    private static ulong Checksum(byte[] b)
    {
        ulong h = 1469598103934665603UL;
        foreach (var x in b) { h ^= x; h *= 1099511628211UL; }
        return h;
    }
}
