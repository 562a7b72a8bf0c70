using CryoEmPS.Core.Numerics;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The checks of a checkpoint's contents after its checksum: a checksum proves only that the bytes are the ones written, and a
/// crafted or foreign file can carry a correct one. <see cref="Count"/> guards every length before an array is allocated,
/// <see cref="Validate"/> checks the values that do not depend on the run, <see cref="ValidateFor"/> (after the key matched)
/// those that do. Every failure is an <see cref="InvalidDataException"/> (ErrorId CheckpointUnreadable) naming the field.
/// </summary>
public static class ApproxEmCheckpointValidation
{
    /// <summary>
    /// The checks before a checkpoint is read into memory: not empty (a named pipe or a device reports 0 bytes, and opening a
    /// pipe would wait for a writer forever) and small enough for one array and the memory budget.
    /// </summary>
    public static void RequireReadable(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return; // File.ReadAllBytes reports it
        }
        if (info.Length == 0)
        {
            throw Invalid(path, "it is empty (a named pipe or a device also reports 0 bytes and is not read)");
        }
        try
        {
            MemoryBudget.RequireArray(info.Length, $"Reading the {MemoryBudget.Format(info.Length)} checkpoint", "");
            MemoryBudget.Require(info.Length, $"Reading the {MemoryBudget.Format(info.Length)} checkpoint", "");
        }
        catch (MemoryLimitException ex)
        {
            throw Invalid(path, ex.Message.TrimEnd());
        }
    }

    /// <summary>
    /// Reads an element count and checks it against the bytes left in <paramref name="reader"/>'s stream (each element takes at
    /// least <paramref name="minimumBytes"/>), so a negative or huge count fails before anything is allocated.
    /// </summary>
    public static int Count(BinaryReader reader, int minimumBytes, string what, string path)
    {
        int count = reader.ReadInt32();
        long left = reader.BaseStream.Length - reader.BaseStream.Position;
        if (count < 0 || (long)count * minimumBytes > left)
        {
            throw Invalid(path, $"its {what} count {count} is negative or larger than the {left} bytes left in the file hold");
        }
        return count;
    }

    /// <summary>
    /// The run-independent checks: stage and iteration ≥ 0, finite coefficients and objectives, v in [0, 1), sane history.
    /// </summary>
    public static void Validate(ApproxEmCheckpoint checkpoint, string path)
    {
        if (checkpoint.Stage < 0)
        {
            throw Invalid(path, $"its stage index {checkpoint.Stage} is negative");
        }
        if (checkpoint.Iteration < 0)
        {
            throw Invalid(path, $"its iteration {checkpoint.Iteration} is negative");
        }
        if (checkpoint.Coefficients.Length == 0)
        {
            throw Invalid(path, "it holds no coefficients");
        }
        for (int i = 0; i < checkpoint.Coefficients.Length; i++)
        {
            if (!double.IsFinite(checkpoint.Coefficients[i]))
            {
                throw Invalid(path, $"coefficient {i} is {checkpoint.Coefficients[i]}");
            }
        }
        if (!(checkpoint.EmptyProbability >= 0 && checkpoint.EmptyProbability < 1))
        {
            throw Invalid(path, $"its empty-patch probability v = {checkpoint.EmptyProbability} is outside [0, 1)");
        }
        if (!double.IsFinite(checkpoint.Objective))
        {
            throw Invalid(path, $"its objective (LL per patch) is {checkpoint.Objective}");
        }
        if (double.IsNaN(checkpoint.PreviousObjective) || double.IsPositiveInfinity(checkpoint.PreviousObjective))
        {
            throw Invalid(path, $"its previous objective is {checkpoint.PreviousObjective}");
        }
        foreach (var row in checkpoint.History)
        {
            if (row.Stage < 1 || row.Iteration < 0 || row.EllMax < 0 || row.RotationCount < 1 || row.PatchCount < 0
                || !double.IsFinite(row.LogLikelihood) || !(row.EmptyProbability >= 0 && row.EmptyProbability <= 1)
                || !Enum.IsDefined(row.Precision))
            {
                throw Invalid(path, $"a history row (stage {row.Stage}, iteration {row.Iteration}) holds values out of range");
            }
        }

        // Each chain's state and block visits (incremental EM, half-sets): finite vectors, v in [0, 1), σ² positive and finite.
        foreach (var chain in checkpoint.State.Chains)
        {
            var visits = chain.Visits.Where(visit => visit != null).Select(visit => visit!);
            if (!chain.X.All(double.IsFinite) || !(chain.EmptyProbability >= 0 && chain.EmptyProbability < 1)
                || !(chain.NoiseVariance > 0 && double.IsFinite(chain.NoiseVariance))
                || visits.Any(visit => visit.Iteration < 0 || !visit.X.All(double.IsFinite)
                    || !(visit.EmptyProbability >= 0 && visit.EmptyProbability < 1)
                    || !(visit.NoiseVariance > 0 && double.IsFinite(visit.NoiseVariance))))
            {
                throw Invalid(path, "a reconstruction's saved state holds values out of range");
            }
        }
    }

    /// <summary>
    /// The checks against the run the checkpoint resumes (its key matched): the stage exists, the iteration is at most the
    /// stage's N_it, and x has the stage's parameter count.
    /// </summary>
    public static void ValidateFor(ApproxEmCheckpoint checkpoint, ApproxEmSettings settings, string? path)
    {
        string where = path ?? "the checkpoint";
        if (checkpoint.Stage >= settings.Stages.Count)
        {
            throw Invalid(where, $"its stage index {checkpoint.Stage} is beyond the run's {settings.Stages.Count} stages");
        }
        var stage = settings.Stages[checkpoint.Stage];
        if (checkpoint.Iteration > stage.MaxIterations)
        {
            throw Invalid(where, $"its iteration {checkpoint.Iteration} is beyond stage {checkpoint.Stage + 1}'s {stage.MaxIterations}");
        }
        if (checkpoint.Coefficients.Length != stage.Model.ParameterCount)
        {
            throw Invalid(where, $"it holds {checkpoint.Coefficients.Length} coefficients where stage {checkpoint.Stage + 1} has " +
                $"{stage.Model.ParameterCount}");
        }
    }

    private static InvalidDataException Invalid(string path, string what)
        => new($"'{path}' is not a usable EM checkpoint: {what}. " +
            "The file was damaged or edited; delete it (or drop -Resume) to start afresh.");
}
