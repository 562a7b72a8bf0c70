using System.Text;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Projection;

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
    // Version 3: the patch, initial-volume and rotation fingerprints are SHA-256 hex strings.
    // Version 4: each chain's state (x, v, σ², block visits of the incremental EM), the best iterate, and the rows' σ² and
    // half-map shell.
    // Version 5: the rows' held-out log-likelihood and estimated FSC shell; the schedule string carries the held-out count.
    // Version 6: the rows' per-patch held-out log-likelihoods (the held-out choice is replayed from them on resume).
    // Version 7: the rows' half-map criterion (the estimate before the prior's attenuation).
    private const int Version = 7;

    public ApproxEmCheckpoint(ApproxEmCheckpointKey key, int stage, int iteration, double[] x, double v, double prevQ, double q,
        ApproxEmIteration[] history)
        : this(key, stage, iteration, x, v, prevQ, q, history, null)
    {
    }

    internal ApproxEmCheckpoint(ApproxEmCheckpointKey key, int stage, int iteration, double[] x, double v, double prevQ, double q,
        ApproxEmIteration[] history, ApproxEmCheckpointState? state)
    {
        Key = key;
        Stage = stage;
        Iteration = iteration;
        Coefficients = x;
        EmptyProbability = v;
        PreviousObjective = prevQ;
        Objective = q;
        History = history;
        State = state ?? new ApproxEmCheckpointState(
            new[] { new ApproxEmChainState(x, v, key.NoiseVariance, new BlockVisit?[] { new BlockVisit(iteration, x, v, key.NoiseVariance) }) },
            -1, -1, null);
    }

    /// <summary>Each chain's state and the best iterate.</summary>
    internal ApproxEmCheckpointState State { get; }

    public ApproxEmCheckpointKey Key { get; }
    /// <summary>0-based stage index.</summary>
    public int Stage { get; }
    public int Iteration { get; }
    public double[] Coefficients { get; }
    public double EmptyProbability { get; }
    public double PreviousObjective { get; }
    public double Objective { get; }
    public ApproxEmIteration[] History { get; }

    /// <summary>The key of a run: its patches, x₀, settings and the correlation FFT side its forward model gives the E-step.</summary>
    public static ApproxEmCheckpointKey KeyOf(PatchSet patches, double[] x0, ApproxEmSettings s, ForwardModel forward)
    {
        var schedule = new StringBuilder();
        foreach (var stage in s.Stages)
        {
            schedule.Append($"[n={stage.Model.ParameterCount},l={stage.EllMax},K={stage.Rotations.Count}:{RotationHash(stage)}," +
                $"S={stage.StochasticFactor:R},N={stage.MaxIterations},eps={stage.Tolerance:R}]");
        }
        schedule.Append($" precision={s.Precision}");
        // The options of the quality issue, only when they differ from the paper's (so paper-run checkpoints keep their key).
        if (s.MStep != MStepMode.Minibatch || s.Prior != ApproxEmPrior.None || s.EstimateNoiseVariance || s.HalfSets != null || s.HeldOut != null
            || s.AdaptiveMarching)
        {
            schedule.Append($" mstep={s.MStep} prior={s.Prior} T={s.Tau2Fudge:R} sigma2={(s.EstimateNoiseVariance ? "estimated" : "fixed")}" +
                $" halves={(s.HalfSets == null ? "none" : $"{s.HalfSets.First.Length}+{s.HalfSets.Second.Length}")}" +
                $" patience={s.HalfMapPatience} heldout={s.HeldOut?.Length ?? 0}" +
                $" marching={(s.AdaptiveMarching ? "adaptive" : "fixed")}");
        }
        // The image filters (CTF, whitening), only when there are any (so unfiltered checkpoints keep their key).
        if (!forward.IsUnfiltered)
        {
            schedule.Append($" filters=[{string.Join("; ", Enumerable.Range(0, forward.MicrographCount)
                .Select(micrograph => forward.Filters[forward.GroupOf(micrograph)])
                .Select(filter => filter is MicrographFilter micrographFilter ? micrographFilter.Signature : filter.ToString()))}]");
        }

        return new ApproxEmCheckpointKey(patches.Fingerprint(s.World), patches.Count, patches.PatchSize, s.Seed, s.NoiseVariance,
            s.EmptyProbability, s.PosteriorCutoff, forward.FftSize(s.FftSize), Hash(x0),
            schedule.ToString());
    }

    /// <summary>SHA-256 of the stage's rotation matrices (row by row, canonical bytes).</summary>
    private static string RotationHash(ApproxEmStage stage)
    {
        using var hash = new ContentHash("CryoEmPS.RotationSet/1").Add(stage.Rotations.Count);
        foreach (var rotation in stage.Rotations.Rotations)
        {
            for (int i = 0; i < 3; i++)
            {
                for (int j = 0; j < 3; j++)
                {
                    hash.Add(rotation[i, j]);
                }
            }
        }
        return hash.Finish();
    }

    /// <summary>SHA-256 of x₀ (its length, then its values as canonical bytes).</summary>
    internal static string Hash(double[] values)
        => new ContentHash("CryoEmPS.Coefficients/1").Add(values.Length).Add(values).Finish();

    public void Verify(ApproxEmCheckpointKey current)
    {
        string? difference = current.Difference(Key);
        if (difference != null)
        {
            throw new CheckpointMismatchException($"The checkpoint belongs to a different problem: {difference}" +
                $". Resume only with the same patches, initial volume, schedule, σ², v₀ and seed, or delete the checkpoint " +
                $"(or drop -Resume) to start afresh.");
        }
    }

    public void Write(string path) => AtomicFile.Write(path, stream =>
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(Version);
            var key = Key;
            writer.Write(key.PatchFingerprint);
            writer.Write(key.PatchCount);
            writer.Write(key.PatchSize);
            writer.Write(key.Seed);
            writer.Write(key.NoiseVariance);
            writer.Write(key.EmptyProbability);
            writer.Write(key.PosteriorCutoff);
            writer.Write(key.FftSize);
            writer.Write(key.InitialHash);
            writer.Write(key.Schedule);
            writer.Write(Stage);
            writer.Write(Iteration);
            writer.Write(EmptyProbability);
            writer.Write(PreviousObjective);
            writer.Write(Objective);
            writer.Write(Coefficients.Length);
            foreach (var coefficient in Coefficients)
            {
                writer.Write(coefficient);
            }
            writer.Write(History.Length);
            foreach (var row in History)
            {
                writer.Write(row.Stage);
                writer.Write(row.EllMax);
                writer.Write(row.RotationCount);
                writer.Write(row.StochasticFactor);
                writer.Write(row.Iteration);
                writer.Write(row.PatchCount);
                writer.Write(row.LogLikelihood);
                writer.Write(row.LogLikelihoodPerPatch);
                writer.Write(row.EmptyProbability);
                writer.Write(row.Seconds);
                writer.Write(row.FscShell);
                writer.Write(row.FscFirstShellBelow ?? int.MinValue);
                writer.Write(row.Regularization);
                writer.Write(row.SkippedFraction);
                writer.Write((int)row.Precision);
                writer.Write(row.MStepSeconds);
                writer.Write(row.NoiseVariance);
                writer.Write(row.HalfMapFscShell);
                writer.Write(row.HeldOutLogLikelihoodPerPatch);
                writer.Write(row.EstimatedFscShell);
                writer.Write(row.HalfMapCriterion);
                writer.Write(row.HeldOutScore);
                writer.Write(row.HeldOutPatchLogLikelihood.Length);
                foreach (var value in row.HeldOutPatchLogLikelihood)
                {
                    writer.Write(value);
                }
            }
            State.Write(writer);
        }
        var bytes = buffer.ToArray();
        stream.Write(bytes);
        stream.Write(BitConverter.GetBytes(Checksum(bytes)));
    }, overwrite: true);

    public static ApproxEmCheckpoint Read(string path)
    {
        ApproxEmCheckpointValidation.RequireReadable(path);
        var all = File.ReadAllBytes(path);
        if (all.Length < 8)
        {
            throw new InvalidDataException($"'{path}' is not a CryoEmPS EM checkpoint (too short).");
        }
        var body = all.AsSpan(0, all.Length - 8).ToArray();
        if (BitConverter.ToUInt64(all, all.Length - 8) != Checksum(body))
        {
            throw new InvalidDataException($"'{path}' is damaged (checksum mismatch).");
        }
        using var reader = new BinaryReader(new MemoryStream(body), Encoding.UTF8);
        try
        {
            if (reader.ReadString() != Magic)
            {
                throw new InvalidDataException($"'{path}' is not a CryoEmPS EM checkpoint.");
            }
            int version = reader.ReadInt32();
            if (version != Version)
            {
                throw new InvalidDataException($"'{path}' is a version {version} checkpoint; this module reads version {Version}.");
            }
            var key = new ApproxEmCheckpointKey(reader.ReadString(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(),
                reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadInt32(), reader.ReadString(),
                reader.ReadString());
            int stage = reader.ReadInt32(), iteration = reader.ReadInt32();
            double v = reader.ReadDouble(), previousObjective = reader.ReadDouble(), objective = reader.ReadDouble();
            var x = new double[ApproxEmCheckpointValidation.Count(reader, sizeof(double), "coefficient", path)];
            for (int i = 0; i < x.Length; i++)
            {
                x[i] = reader.ReadDouble();
            }
            var history = new ApproxEmIteration[ApproxEmCheckpointValidation.Count(reader, 100, "history row", path)];
            for (int i = 0; i < history.Length; i++)
            {
                int rowStage = reader.ReadInt32(), ellMax = reader.ReadInt32(), rotationCount = reader.ReadInt32();
                double stochasticFactor = reader.ReadDouble();
                int rowIteration = reader.ReadInt32(), patchCount = reader.ReadInt32();
                double logLikelihood = reader.ReadDouble(), logLikelihoodPerPatch = reader.ReadDouble(),
                    emptyProbability = reader.ReadDouble(), seconds = reader.ReadDouble(), shell = reader.ReadDouble();
                int below = reader.ReadInt32();
                double regularization = reader.ReadDouble(), skippedFraction = reader.ReadDouble();
                var precision = (EStepPrecision)reader.ReadInt32();
                double mStepSeconds = reader.ReadDouble(), rowNoiseVariance = reader.ReadDouble(), halfMapShell = reader.ReadDouble(),
                    heldOut = reader.ReadDouble(), estimated = reader.ReadDouble(), criterion = reader.ReadDouble(),
                    heldOutScore = reader.ReadDouble();
                var heldOutPatches = new double[ApproxEmCheckpointValidation.Count(reader, sizeof(double), "held-out value", path)];
                for (int j = 0; j < heldOutPatches.Length; j++)
                {
                    heldOutPatches[j] = reader.ReadDouble();
                }
                history[i] = new ApproxEmIteration
                {
                    Stage = rowStage, EllMax = ellMax, RotationCount = rotationCount, StochasticFactor = stochasticFactor,
                    Iteration = rowIteration, PatchCount = patchCount,
                    LogLikelihood = logLikelihood, LogLikelihoodPerPatch = logLikelihoodPerPatch,
                    EmptyProbability = emptyProbability, Seconds = seconds, FscShell = shell,
                    FscFirstShellBelow = below == int.MinValue ? null : below,
                    Regularization = regularization, SkippedFraction = skippedFraction,
                    Precision = precision, MStepSeconds = mStepSeconds, NoiseVariance = rowNoiseVariance, HalfMapFscShell = halfMapShell,
                    HeldOutLogLikelihoodPerPatch = heldOut, EstimatedFscShell = estimated, HalfMapCriterion = criterion,
                    HeldOutScore = heldOutScore, HeldOutPatchLogLikelihood = heldOutPatches,
                };
            }
            var state = ApproxEmCheckpointState.Read(reader);
            var checkpoint = new ApproxEmCheckpoint(key, stage, iteration, x, v, previousObjective, objective, history, state);
            ApproxEmCheckpointValidation.Validate(checkpoint, path);
            return checkpoint;
        }
        catch (Exception ex) when (ex is EndOfStreamException or FormatException)
        {
            throw new InvalidDataException($"'{path}' is truncated.");
        }
    }

    private static ulong Checksum(byte[] bytes)
    {
        ulong hash = 1469598103934665603UL;
        foreach (var value in bytes)
        {
            hash ^= value;
            hash *= 1099511628211UL;
        }
        return hash;
    }
}
