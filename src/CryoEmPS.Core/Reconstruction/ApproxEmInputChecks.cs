using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The checks of an EM request that guard the numbers rather than the schedule (called once from
/// <see cref="ApproxEmRequest.Resolve"/>, before any rotation grid is made): a patch size the Fourier–Bessel basis has
/// functions for, finite patch values within float32 range, a finite x₀, and a per-rotation memory estimate within
/// <see cref="MemoryBudget"/>. Each failure is an <see cref="ApproxEmInputException"/> with its stable ErrorId.
/// </summary>
public static class ApproxEmInputChecks
{
    /// <summary>
    /// Bytes the E-step and M-step keep per rotation for patches of side L (box B = L without a filter, 2L − 1 lags per
    /// axis): the projection (L² doubles and a float32 copy), back-projection, pixel weights and filtered projection (B² each),
    /// the lag weights ((2L − 1)²) and the rotation itself. A lower bound: the run needs this much at least.
    /// </summary>
    public static double BytesPerRotation(int patchSize)
    {
        double l2 = (double)patchSize * patchSize;
        double lags = 2.0 * patchSize - 1;
        return 8 * (l2 + 3 * l2 + lags * lags) + 4 * l2 + 128;
    }

    /// <summary>A patch side the Fourier–Bessel basis has functions for (L ≥ 4), else PatchSizeTooSmall.</summary>
    public static void CheckPatchSize(int size)
    {
        if (size < 2 || FourierBesselBasis.MaxEll(size) < 0)
        {
            throw new ApproxEmInputException("PatchSizeTooSmall",
                $"The patches are {size}×{size}: the Fourier–Bessel basis has no function below L = 4 (its first radial zero must lie " +
                $"under 2πRc, R = ⌊L/2⌋). Cut patches of side at least 4 with Get-PatchSet -PatchSize (the paper uses L = 17).");
        }
    }

    /// <summary>
    /// Finite x₀ and the memory estimate (the size was checked by <see cref="CheckPatchSize"/>, the values by
    /// <see cref="CheckPatchValues"/>).
    /// </summary>
    public static void Check(ApproxEmRequest request, PatchSet patches, IReadOnlyList<int> rotationCounts,
        IReadOnlyList<double> stochasticFactors)
    {
        int size = patches.PatchSize;
        var initial = request.InitialCoefficients?.Coefficients ?? request.InitialVolume?.Data;
        if (initial != null)
        {
            for (int i = 0; i < initial.Length; i++)
            {
                if (!double.IsFinite(initial[i]))
                {
                    string where = request.InitialCoefficients != null ? "coefficient" : "voxel";
                    throw new ApproxEmInputException("VolumeNotFinite",
                        $"The initial volume has the value {initial[i]} at {where} {i}; every value must be a finite number. " +
                        "Replace the NaN/infinite values first, or check how the volume was made.");
                }
            }
        }
        // The statistics the M-step solves with: one set per block of the incremental EM (per stage), per chain (two with half-sets).
        int storedSets = request.MStep == MStepMode.Incremental
            ? stochasticFactors.Max(factor => ApproxEmChain.BlockCount(factor, patches.Count))
            : 1;
        CheckMemory(size, rotationCounts, patches.HeldCount, (request.HalfSet ? 2 : 1) * storedSets);
    }

    /// <summary>
    /// Every patch value finite and at most float32's largest (what an MRC file can hold), else PatchSetNotFinite. For a joined
    /// share each rank checks the patches it holds, and one sum tells every rank whether any failed, so that all stop alike.
    /// </summary>
    public static void CheckPatchValues(PatchSet patches, Native.ICommunicator world)
    {
        var data = patches.Data;
        int perPatch = patches.PatchSize * patches.PatchSize;
        int bad = -1;
        for (int i = 0; i < data.Length && bad < 0; i++)
        {
            if (!(Math.Abs(data[i]) <= float.MaxValue))
            {
                bad = i;
            }
        }

        double failed = bad >= 0 ? 1 : 0;
        if (!patches.HoldsAll)
        {
            var total = new[] { failed };
            world.SumInPlace(total);
            failed = total[0];
        }

        if (failed == 0)
        {
            return;
        }

        if (bad < 0)
        {
            throw new ApproxEmInputException("PatchSetNotFinite",
                $"Another rank's patches hold a value that is not finite or exceeds {float.MaxValue:g3} (see its error); rank " +
                $"{world.Rank}'s are fine. Check the micrographs and replace the bad pixels.");
        }

        int q = Enumerable.Range(0, patches.Count).Where(patches.Holds).ElementAt(bad / perPatch);
        var origin = patches.Origins[q];
        throw new ApproxEmInputException("PatchSetNotFinite",
            $"Patch {q} (micrograph {origin.Micrograph}, row {origin.Row}, column {origin.Column}) has the value " +
            $"{data[bad]}; every pixel must be finite and at most {float.MaxValue:g3} in size, or the likelihood overflows. " +
            "Check the micrographs (Get-PatchSet refuses such micrographs) and replace the bad pixels.");
    }

    /// <summary>The largest stage's per-rotation memory within the budget, and its lag-weight array within one .NET array.</summary>
    /// <param name="storedSets">How many E-steps' statistics are held at once (blocks of the incremental EM × chains); 1: the last.</param>
    public static void CheckMemory(int patchSize, IReadOnlyList<int> rotationCounts, int patchCount, int storedSets = 1)
    {
        int largest = rotationCounts.Count == 0 ? 0 : rotationCounts.Max();
        double lags = 2.0 * patchSize - 1;
        try
        {
            MemoryBudget.RequireArray((double)largest * lags * lags, $"A stage of {largest} rotations on {patchSize}×{patchSize} patches",
                "Use fewer rotations per stage (-RotationCount; the paper uses 3392).");
            double statistics = 8.0 * (2.0 * patchSize * patchSize + lags * lags) * largest * Math.Max(0, storedSets - 1);
            MemoryBudget.Require(largest * BytesPerRotation(patchSize) + statistics + 8.0 * patchCount * patchSize * patchSize,
                $"A stage of {largest} rotations on {patchCount} patches of {patchSize}×{patchSize}" +
                (storedSets > 1 ? $", with {storedSets} sets of E-step statistics held (incremental blocks × half-sets)" : ""),
                "Use fewer rotations per stage (-RotationCount; the paper uses 3392), or raise $" + MemoryBudget.LimitVariable + ".");
        }
        catch (MemoryLimitException ex)
        {
            throw new ApproxEmInputException(ex.ErrorId, ex.Message);
        }
    }
}
