using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Patches;
using CryoEmPS.Core.Projection;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// One reconstruction inside a run of Algorithm 1: all the patches, or one gold-standard half. It holds x, the shift prior,
/// σ² and the sufficient statistics the next M-step solves with: the last E-step's (<see cref="MStepMode.Minibatch"/>), or
/// every block's from its last visit (<see cref="MStepMode.Incremental"/>).
/// </summary>
internal sealed class ApproxEmChain
{
    private EStepResult?[] _stored = Array.Empty<EStepResult?>();
    // Each block's normal equations (C_b, y_b), built once per visit: C and y are linear in the statistics, so the M-step adds
    // them up instead of building C from the summed statistics every iteration (the incremental EM then builds 1/B of C).
    private NormalEquations?[] _equations = Array.Empty<NormalEquations?>();

    public ApproxEmChain(int index, int[] members, int seed, double[] x, ShiftPrior shiftPrior, double noiseVariance)
    {
        Index = index;
        Members = members;
        Seed = seed;
        X = x;
        ShiftPrior = shiftPrior;
        NoiseVariance = noiseVariance;
    }

    /// <summary>0 for the only chain or half 1, 1 for half 2.</summary>
    public int Index { get; }

    /// <summary>The patch indices (ascending) this chain reconstructs from.</summary>
    public int[] Members { get; }

    /// <summary>The seed of its minibatches and blocks.</summary>
    public int Seed { get; }

    public double[] X { get; set; }

    public ShiftPrior ShiftPrior { get; set; }

    /// <summary>σ² of its next E-step.</summary>
    public double NoiseVariance { get; set; }

    /// <summary>The blocks of the current stage (incremental EM; one block holding every member otherwise).</summary>
    public int[][] Blocks { get; private set; } = Array.Empty<int[]>();

    /// <summary>For every block, the state its stored statistics came from (null: not visited in this stage).</summary>
    public BlockVisit?[] Visits { get; private set; } = Array.Empty<BlockVisit?>();

    /// <summary>The held-out patches this chain scores (ascending; in no chain's fit); empty without held-out patches.</summary>
    public int[] HeldOut { get; init; } = Array.Empty<int>();

    /// <summary>The likelihood-only E-step of <see cref="HeldOut"/> at the last E-step's map (null before one, or without).</summary>
    public EStepResult? HeldOutResult { get; set; }

    /// <summary>The statistics of the last E-step (the minibatch M-step solves with them).</summary>
    public EStepResult? Last { get; set; }

    /// <summary>A new stage: the blocks of the incremental EM, and no statistics yet.</summary>
    public void StartStage(int stageIndex, double stochasticFactor, MStepMode mode)
    {
        int count = mode == MStepMode.Incremental ? BlockCount(stochasticFactor, Members.Length) : 1;
        Blocks = Partition(Members, count, ApproxEm.IterationSeed(Seed, stageIndex, -2));
        Visits = new BlockVisit?[count];
        _stored = new EStepResult?[count];
        _equations = new NormalEquations?[count];
        Last = null;
    }

    /// <summary>B = round(1/S) blocks, at least 1 and at most one per patch.</summary>
    public static int BlockCount(double stochasticFactor, int patches)
        => Math.Clamp((int)Math.Round(1 / stochasticFactor), 1, Math.Max(1, patches));

    /// <summary>The patches of iteration <paramref name="iteration"/>'s E-step under the incremental EM: block k mod B.</summary>
    public int[] Block(int iteration) => Blocks[iteration % Blocks.Length];

    /// <summary>Keeps the statistics of block k mod B from its visit at iteration k.</summary>
    public void Store(int iteration, EStepResult statistics)
    {
        int block = iteration % Blocks.Length;
        _stored[block] = statistics;
        _equations[block] = null;
        Visits[block] = new BlockVisit(iteration, (double[])X.Clone(), ShiftPrior.EmptyProbability, NoiseVariance);
        Last = statistics;
    }

    /// <summary>Restores a block's visit from a checkpoint together with its recomputed statistics.</summary>
    public void Restore(int block, BlockVisit visit, EStepResult statistics)
    {
        Visits[block] = visit;
        _stored[block] = statistics;
        _equations[block] = null;
        if (Last == null || Visits.All(other => other == null || other.Iteration <= visit.Iteration))
        {
            Last = statistics;
        }
    }

    /// <summary>The statistics the next M-step solves with.</summary>
    public EStepResult MStepStatistics(MStepMode mode)
    {
        var parts = MStepParts(mode);
        if (parts.Length == 0)
        {
            throw new InvalidOperationException("No E-step has run in this stage.");
        }

        var patches = parts.SelectMany(part => part.Patches).OrderBy(q => q).ToArray();
        return parts.Length == 1 ? parts[0] : EStepResult.Sum(patches, parts);
    }

    /// <summary>
    /// The E-step results the next M-step solves with: the last E-step's (minibatch M-step, or one block), else every visited
    /// block's from its last visit, in block order; none before the stage's first E-step.
    /// </summary>
    public EStepResult[] MStepParts(MStepMode mode)
    {
        if (mode == MStepMode.Minibatch || Blocks.Length == 1)
        {
            return Last == null ? Array.Empty<EStepResult>() : new[] { Last };
        }

        return _stored.Where(part => part != null).Select(part => part!).ToArray();
    }

    /// <summary>
    /// The normal equations of <see cref="MStepStatistics"/>: with the incremental EM the sum, in block order, of every visited
    /// block's C_b and y_b (each built once per visit); else built from the last E-step's statistics.
    /// </summary>
    public NormalEquations MStepEquations(MStepMode mode, ILinearProjectionModel model, IReadOnlyList<Rotations.Rotation> rotations,
        int threads, ForwardModel forward, CancellationToken token, Native.ICommunicator? world = null)
    {
        if (mode == MStepMode.Minibatch || Blocks.Length == 1)
        {
            return MStep.Build(model, rotations, MStepStatistics(mode), threads, token, forward, world);
        }

        NormalEquations? sum = null;
        for (int block = 0; block < _stored.Length; block++)
        {
            if (_stored[block] is not EStepResult statistics)
            {
                continue;
            }

            var equations = _equations[block] ??= MStep.Build(model, rotations, statistics, threads, token, forward, world);
            if (sum == null)
            {
                sum = new NormalEquations(equations.ParameterCount, (double[])equations.Matrix.Clone(),
                    (double[])equations.RightHandSide.Clone());
                continue;
            }

            var c = sum.Matrix;
            var cb = equations.Matrix;
            for (long i = 0; i < c.LongLength; i++)
            {
                c[i] += cb[i];
            }

            for (int i = 0; i < sum.RightHandSide.Length; i++)
            {
                sum.RightHandSide[i] += equations.RightHandSide[i];
            }
        }

        return sum ?? throw new InvalidOperationException("No E-step has run in this stage.");
    }

    /// <summary>
    /// <paramref name="members"/> split into <paramref name="count"/> blocks of (nearly) equal size: a permutation drawn from
    /// <paramref name="seed"/>, cut into contiguous runs, each sorted. One block: the members as they are.
    /// </summary>
    private static int[][] Partition(int[] members, int count, int seed)
    {
        if (count == 1)
        {
            return new[] { members };
        }

        var order = (int[])members.Clone();
        var random = new SeededRandom(seed);
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        var blocks = new int[count][];
        for (int b = 0; b < count; b++)
        {
            int start = (int)((long)b * order.Length / count), end = (int)((long)(b + 1) * order.Length / count);
            blocks[b] = order[start..end];
            Array.Sort(blocks[b]);
        }

        return blocks;
    }
}

/// <summary>The state a block's statistics came from: the iteration of the visit, x, v and σ² then.</summary>
internal sealed record BlockVisit(int Iteration, double[] X, double EmptyProbability, double NoiseVariance);
