using CryoEmPS.Core.Native;
using CryoEmPS.Core.Numerics;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The M-step of the approximate EM (eqs. 27–30). With A_{s,ω} = M_s B_ω, where M_s = C T_s Z picks for every patch
/// pixel at most one projection pixel, M_sᵀM_s = diag(mask_s), so
///   C = Σ_{q,s,ω} w A_{s,ω}ᵀA_{s,ω} = Σ_ω B_ωᵀ diag(m_ω) B_ω  and  y = Σ_{q,s,ω} w A_{s,ω}ᵀ I_q = Σ_ω B_ωᵀ b_ω,
/// with m_ω and b_ω from the E-step. C is accumulated with dsyrk on stacked rows sqrt(m_ω[i])·B_ω[i,:] in fixed
/// blocks of rotations whose partial sums are added in block order (thread-count independent), then solved by
/// Cholesky. For a model with B_ω = G·E_ω (<see cref="IFactoredProjectionModel"/>, the Fourier–Bessel model) each
/// rotation instead gets H_ω = Gᵀ diag(m_ω) G by dsyrk on √m-scaled rows of G, expanded as E_ωᵀ H_ω E_ω.
///  A C that is not positive definite gets the smallest Tikhonov term λI (λ = 1e-12·trace/n, ×10 until
/// dpotrf succeeds), reported in the solution.
/// <para>
/// <b>With an image filter (the CTF; <see cref="Projection.IImageFilter"/>)</b> everything above that rests on
/// M_sᵀM_s = diag(mask_s) changes. For a patch of filter group g the operator is A_{s,ω,g} = M_s F_g B_ω, where F_g maps the
/// L×L projection to a B×B box (B = L + 2·margin) and M_s crops the patch out of that box. Then
/// A_{s,ω,g}ᵀA_{s,ω,g} = B_ωᵀ F_gᵀ diag(mask_s) F_g B_ω is no longer a diagonal mask in the projection's pixels, so:
/// (1) the E-step returns b_{ω,g} and m_{ω,g} per filter group on the B×B box (EStepResult.Groups, BoxSize);
/// (2) <see cref="Build"/> forms C = Σ_ω Σ_g (F_g B_ω)ᵀ diag(m_{ω,g}) (F_g B_ω) and y = Σ_ω Σ_g (F_g B_ω)ᵀ b_{ω,g}: it stacks
/// the filtered rows F_g B_ω (B²×n per rotation) instead of B_ω, or, for the factored model, filters G once per group
/// (F_g G is B²×r), adds every group's H_{ω,g} and keeps one expansion E_ωᵀ H_ω E_ω per rotation;
/// (3) the Gram work grows with the groups and with B², which is why micrographs are grouped by defocus
/// (<see cref="Projection.DefocusGrouping"/>). Build needs the forward model the statistics were made with.
/// </para>
/// </summary>
public static unsafe class MStep
{
    /// <summary>Rotations per reduction block (fixed, so sums never depend on the thread count).</summary>
    internal const int BlockRotations = 16;
    /// <summary>Rotations stacked per dsyrk call.</summary>
    internal const int ChunkRotations = 4;

    /// <summary>
    /// The normal equations C, y of <paramref name="stats"/>. Statistics that came through an image filter (the CTF) need the
    /// <paramref name="forward"/> model they were made with: each filter group g then contributes (F_g B_ω)ᵀ diag(m_{ω,g})
    /// (F_g B_ω) and (F_g B_ω)ᵀ b_{ω,g} on the B×B box.
    /// </summary>
    /// <remarks>
    /// With a <paramref name="world"/> of several processes (which all hold the same statistics), rank r builds the blocks of
    /// rotations ⌊B·r/P⌋ … ⌊B·(r+1)/P⌋ − 1 and the parts are added in rank order, so every rank returns the same C and y.
    /// </remarks>
    public static NormalEquations Build(ILinearProjectionModel model, IReadOnlyList<Rotation> rotations, EStepResult stats, int threads = 0,
        CancellationToken token = default, ForwardModel? forward = null, ICommunicator? world = null)
    {
        int n = model.ParameterCount, k = rotations.Count;
        if (stats.RotationCount != k || stats.ImageSize != model.ImageSize)
        {
            throw new ArgumentException("The E-step statistics do not match the model and rotation set.");
        }

        bool filtered = stats.Filtered || stats.BoxSize != stats.ImageSize;
        if (filtered && (forward == null || forward.BoxSize != stats.BoxSize || forward.ImageSize != model.ImageSize))
        {
            throw new ArgumentException($"The E-step statistics come through an image filter ({stats.BoxSize}² box, " +
                $"{stats.Groups.Count} filter group(s)): the M-step needs the forward model they were made with.", nameof(forward));
        }

        // Each filter group's statistics and its operator: G (or B_ω) filtered by F_g on the B×B box; unfiltered: as they are.
        var groups = stats.Groups.Select(group => new GroupOperator(group, filtered ? Math.Max(group.FilterGroup, 0) : -1)).ToArray();
        var factored = model as IFactoredProjectionModel;
        if (factored != null)
        {
            foreach (var group in groups)
            {
                group.Reduced = group.Filter < 0
                    ? factored.ReducedImageMatrix
                    : forward!.FilterColumnsCached(group.Filter, factored.ReducedImageMatrix, factored.ReducedCount);
            }
        }

        if (threads <= 0)
        {
            threads = Environment.ProcessorCount;
        }
        using var blas = OpenBlasThreads.Single();
        int blocks = (k + BlockRotations - 1) / BlockRotations;
        world ??= SingleProcess.Instance;
        int firstBlock = (int)((long)blocks * world.Rank / world.Size), lastBlock = (int)((long)blocks * (world.Rank + 1) / world.Size);
        int wave = Math.Max(1, Math.Min(threads, Math.Max(1, lastBlock - firstBlock)));
        var c = new double[(long)n * n];
        var y = new double[n];
        var partC = new double[wave][];
        var partY = new double[wave][];
        for (int i = 0; i < wave; i++)
        {
            partC[i] = new double[(long)n * n];
            partY[i] = new double[n];
        }
        bool singleGram = stats.Precision == EStepPrecision.Single;   // H_ω by ssyrk (see FactoredBlock)
        int l2 = model.ImageSize * model.ImageSize, boxPixels = stats.BoxSize * stats.BoxSize;
        for (int first = firstBlock; first < lastBlock; first += wave)
        {
            int count = Math.Min(wave, lastBlock - first);
            if (factored != null)
            {
                ParallelLoop.For(count, threads,
                    () => new FactoredBuffers(factored, boxPixels, singleGram),
                    (buffers, slot) =>
                        FactoredBlock(factored, rotations, groups, first + slot, partC[slot], partY[slot], buffers, token),
                    _ => { }, token);
            }
            else
            {
                ParallelLoop.For(count, threads,
                    () => new Buffers(new double[l2 * n], new double[ChunkRotations * boxPixels * n]),
                    (buffers, slot) => Block(model, rotations, groups, forward, first + slot, partC[slot], partY[slot], buffers, token),
                    _ => { }, token);
            }
            for (int slot = 0; slot < count; slot++)
            {
                var blockC = partC[slot];
                var blockY = partY[slot];
                for (long i = 0; i < blockC.LongLength; i++)
                {
                    c[i] += blockC[i];
                }
                for (int i = 0; i < n; i++)
                {
                    y[i] += blockY[i];
                }
            }
        }
        if (world.Size > 1)
        {
            // The ranks' parts of C (upper triangle) and y, added in rank order in one message.
            var both = new double[c.LongLength + n];
            Array.Copy(c, both, c.LongLength);
            Array.Copy(y, 0, both, c.LongLength, n);
            world.SumInPlace(both);
            Array.Copy(both, c, c.LongLength);
            Array.Copy(both, c.LongLength, y, 0, n);
        }

        fixed (double* cFull = c)
        {
            CopyUpperToLower(cFull, n);
        }
        return new NormalEquations(n, c, y);
    }

    private sealed record Buffers(double[] Matrix, double[] Stack);

    /// <summary>
    /// One filter group's statistics and operator: <see cref="Filter"/> is its forward-model group (−1: unfiltered, B = L), and
    /// for a factored model <see cref="Reduced"/> = F_g·G (B²×r; G itself when unfiltered).
    /// </summary>
    private sealed class GroupOperator
    {
        public GroupOperator(EStepResult statistics, int filter)
        {
            Statistics = statistics;
            Filter = filter;
        }

        public EStepResult Statistics { get; }

        public int Filter { get; }

        public double[] Reduced { get; set; } = Array.Empty<double>();
    }

    private sealed class FactoredBuffers
    {
        public readonly double[] Rows, H, G, Scratch;
        public readonly float[] RowsF, HF;
        /// <summary>H_ω is formed in single precision (ssyrk on <see cref="RowsF"/> into <see cref="HF"/>), else in double.</summary>
        public readonly bool Single;
        public FactoredBuffers(IFactoredProjectionModel m, int boxPixels, bool single)
        {
            Single = single;
            int r = m.ReducedCount;
            Rows = single ? Array.Empty<double>() : new double[boxPixels * r];
            H = new double[r * r];
            G = new double[r];
            Scratch = new double[m.ExpandScratchLength];
            RowsF = single ? new float[boxPixels * r] : Array.Empty<float>();
            HF = single ? new float[r * r] : Array.Empty<float>();
        }
    }

    /// <summary>
    /// One block of rotations for a factored model: H_ω = Σ_g Σ_i m_{ω,g}[i]·g_i g_iᵀ (dsyrk over the rows g_i of each group's
    /// F_g·G), then E_ωᵀ H_ω E_ω and E_ωᵀ Σ_g (F_g G)ᵀ b_{ω,g}: the filter groups share the one expansion per rotation.
    /// When the E-step ran in single precision (its m_ω then carry float rounding already) H_ω is formed by ssyrk from
    /// float rows and widened to double: about twice as fast, and its rounding (~1e-7 relative per product, sums of
    /// L² terms) is of the order of the statistics' own; the expansion, the sums over rotations and the solve stay double.
    /// </summary>
    private static void FactoredBlock(IFactoredProjectionModel model, IReadOnlyList<Rotation> rotations, GroupOperator[] groups,
        int block, double[] partC, double[] partY, FactoredBuffers buffers, CancellationToken token)
    {
        int r = model.ReducedCount, k = rotations.Count;
        bool single = buffers.Single;
        Array.Clear(partC);
        Array.Clear(partY);
        int r0 = block * BlockRotations, r1 = Math.Min(k, r0 + BlockRotations);
        fixed (double* partCPtr = partC, partYPtr = partY, rows = buffers.Rows, h = buffers.H, gTransposeB = buffers.G,
            scratch = buffers.Scratch)
        fixed (float* rowsF = buffers.RowsF, hF = buffers.HF)
        {
            for (int rot = r0; rot < r1; rot++)
            {
                token.ThrowIfCancellationRequested();
                bool any = false;
                foreach (var group in groups)
                {
                    var statistics = group.Statistics;
                    int boxPixels = statistics.BoxSize * statistics.BoxSize;
                    var m = statistics.PixelWeight.AsSpan(rot * boxPixels, boxPixels);
                    fixed (double* g = group.Reduced, back = statistics.BackProjection)
                    {
                        int n = single ? StackScaledRows(m, g, r, rowsF) : StackScaledRows(m, g, r, rows);
                        if (n == 0) // no weight on this rotation in this group: m_{ω,g} = 0 and b_{ω,g} = 0 exactly
                        {
                            continue;
                        }

                        if (single)
                        {
                            Blas.SyrkAtA(r, n, 1f, rowsF, any ? 1f : 0f, hF);
                        }
                        else
                        {
                            Blas.SyrkAtA(r, n, 1.0, rows, any ? 1.0 : 0.0, h);
                        }

                        Blas.Gemv(true, boxPixels, r, 1.0, g, back + (long)rot * boxPixels, any ? 1.0 : 0.0, gTransposeB);
                        any = true;
                    }
                }

                if (!any)
                {
                    continue;
                }

                if (single)
                {
                    for (int i = 0; i < r; i++)
                    {
                        for (int j = i; j < r; j++)
                        {
                            h[i * r + j] = hF[i * r + j];
                        }
                    }
                }

                CopyUpperToLower(h, r);
                model.AccumulateExpanded(rotations[rot], h, gTransposeB, partCPtr, partYPtr, scratch);
            }
        }
    }

    /// <summary>
    /// One block of rotations for a general model: the rows √m_{ω,g}[i]·(F_g B_ω)[i, :] of every group stacked and added by
    /// dsyrk (B_ω itself when unfiltered), and y += (F_g B_ω)ᵀ b_{ω,g}.
    /// </summary>
    private static void Block(ILinearProjectionModel model, IReadOnlyList<Rotation> rotations, GroupOperator[] groups,
        ForwardModel? forward, int block, double[] partC, double[] partY, Buffers buffers, CancellationToken token)
    {
        int n = model.ParameterCount, k = rotations.Count;
        int capacity = buffers.Stack.Length / n;
        Array.Clear(partC);
        Array.Clear(partY);
        int r0 = block * BlockRotations, r1 = Math.Min(k, r0 + BlockRotations);
        int rows = 0;
        bool first = true;
        fixed (double* partCPtr = partC)
        fixed (double* partYPtr = partY)
        fixed (double* stack = buffers.Stack)
        {
            for (int r = r0; r < r1; r++)
            {
                token.ThrowIfCancellationRequested();
                bool projected = false;
                foreach (var group in groups)
                {
                    var statistics = group.Statistics;
                    int boxPixels = statistics.BoxSize * statistics.BoxSize;
                    var m = statistics.PixelWeight.AsSpan(r * boxPixels, boxPixels);
                    if (!AnyPositive(m))
                    {
                        continue; // no weight on this rotation in this group: m_{ω,g} = 0 and b_{ω,g} = 0 exactly
                    }

                    if (!projected)
                    {
                        model.ProjectionMatrix(rotations[r], buffers.Matrix);
                        projected = true;
                    }

                    var rowsOf = group.Filter < 0 ? buffers.Matrix : forward!.FilterColumns(group.Filter, buffers.Matrix, n);
                    fixed (double* matrix = rowsOf, back = statistics.BackProjection)
                    {
                        Blas.Gemv(true, boxPixels, n, 1.0, matrix, back + (long)r * boxPixels, 1.0, partYPtr);
                        if (rows + boxPixels > capacity)
                        {
                            Blas.SyrkAtA(n, rows, 1.0, stack, first ? 0.0 : 1.0, partCPtr);
                            first = false;
                            rows = 0;
                        }

                        rows += StackScaledRows(m, matrix, n, stack + (long)rows * n);
                    }
                }
            }
            if (rows > 0)
            {
                Blas.SyrkAtA(n, rows, 1.0, stack, first ? 0.0 : 1.0, partCPtr);
            }
        }
    }

    private static bool AnyPositive(ReadOnlySpan<double> m)
    {
        foreach (double value in m)
        {
            if (value > 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>a[i, j] = a[j, i] for j &lt; i (n×n row-major), in 32×32 tiles so the transposed reads stay in cache.</summary>
    private static void CopyUpperToLower(double* a, int n)
    {
        const int Tile = 32;
        for (int i0 = 0; i0 < n; i0 += Tile)
        {
            for (int j0 = 0; j0 <= i0; j0 += Tile)
            {
                int i1 = Math.Min(n, i0 + Tile), j1 = Math.Min(n, j0 + Tile);
                for (int i = i0; i < i1; i++)
                {
                    for (int j = j0; j < Math.Min(j1, i); j++)
                    {
                        a[(long)i * n + j] = a[(long)j * n + i];
                    }
                }
            }
        }
    }

    /// <summary>
    /// Writes √m[i]·(row i of the width-column matrix <paramref name="a"/>) for every m[i] &gt; 0 to consecutive rows of
    /// <paramref name="dst"/> (each product formed in double, rounded once to T); returns how many.
    /// </summary>
    private static int StackScaledRows<T>(ReadOnlySpan<double> m, double* a, int width, T* dst)
        where T : unmanaged, System.Numerics.INumberBase<T>
    {
        int rows = 0;
        for (int i = 0; i < m.Length; i++)
        {
            if (!(m[i] > 0))
            {
                continue;
            }
            double scale = Math.Sqrt(m[i]);
            double* sourceRow = a + (long)i * width;
            T* destinationRow = dst + (long)rows * width;
            for (int j = 0; j < width; j++)
            {
                destinationRow[j] = T.CreateTruncating(scale * sourceRow[j]);
            }
            rows++;
        }
        return rows;
    }

    /// <summary>
    /// Solves C x = y by Cholesky, adding the smallest λI (λ = 1e-12·trace/n, ×10 per try) when C is not positive definite.
    /// </summary>
    public static MStepSolution Solve(NormalEquations eq)
    {
        int n = eq.ParameterCount;
        var a = new double[(long)n * n];
        var x = new double[n];
        double trace = 0;
        for (int i = 0; i < n; i++)
        {
            trace += eq.Matrix[(long)i * n + i];
        }
        double lambda = 0, condition = double.NaN;
        double step = Math.Max(1e-12 * trace / n, 1e-300);
        for (int attempt = 0; ; attempt++)
        {
            Array.Copy(eq.Matrix, a, a.LongLength);
            for (int i = 0; i < n; i++)
            {
                a[(long)i * n + i] += lambda;
            }
            int info;
            fixed (double* pa = a)
            {
                info = Blas.CholeskyFactor(n, pa);
            }
            if (info == 0)
            {
                break;
            }
            if (attempt == 0)
            {
                condition = ConditionOf(eq.Matrix, n);
            }
            if (attempt > 400)
            {
                throw new InvalidOperationException("The M-step matrix C could not be made positive definite (is it NaN?).");
            }
            lambda = lambda == 0 ? step : lambda * 10;
        }
        Array.Copy(eq.RightHandSide, x, n);
        fixed (double* pa = a)
        fixed (double* px = x)
        {
            int info = Blas.CholeskySolve(n, pa, px);
            if (info != 0)
            {
                throw new InvalidOperationException($"dpotrs failed (info {info}).");
            }
        }
        return new MStepSolution(x, lambda, condition);
    }

    /// <summary>(C + λI)⁻¹, n×n row-major with both triangles (λ: the Tikhonov term <see cref="Solve"/> needed).</summary>
    public static double[] Inverse(NormalEquations eq, double lambda)
    {
        int n = eq.ParameterCount;
        var a = (double[])eq.Matrix.Clone();
        for (int i = 0; i < n; i++)
        {
            a[(long)i * n + i] += lambda;
        }

        fixed (double* pa = a)
        {
            if (Blas.CholeskyFactor(n, pa) != 0 || Blas.CholeskyInverse(n, pa) != 0)
            {
                throw new InvalidOperationException("C + λI could not be inverted.");
            }

            CopyUpperToLower(pa, n);
        }

        return a;
    }

    /// <summary>
    /// The M-step of σ² (ECM: after x): the posterior-weighted mean squared residual per pixel,
    ///   σ² = Σ_q Σ_{s,ω} w_{q,s,ω} ‖I_q − A_{s,ω}x‖² / (P·L²) = (Σ_q ‖I_q‖² − 2xᵀy + xᵀCx) / (P·L²),
    /// since the posterior weights of a patch (the empty hypothesis included, whose residual is ‖I_q‖²) sum to 1 and C, y are
    /// Σ w AᵀA and Σ w AᵀI (eqs. 29–30). <paramref name="sumOfSquares"/> = Σ_q ‖I_q‖² over the P patches of the statistics.
    /// </summary>
    public static double ResidualVariance(NormalEquations eq, ReadOnlySpan<double> x, double sumOfSquares, long pixelCount)
    {
        int n = eq.ParameterCount;
        double xy = 0, xcx = 0;
        for (int i = 0; i < n; i++)
        {
            xy += x[i] * eq.RightHandSide[i];
            double row = 0;
            for (int j = 0; j < n; j++)
            {
                row += eq.Matrix[(long)i * n + j] * x[j];
            }

            xcx += x[i] * row;
        }

        return (sumOfSquares - 2 * xy + xcx) / pixelCount;
    }

    private static double ConditionOf(double[] c, int n)
    {
        var matrix = MathNet.Numerics.LinearAlgebra.Matrix<double>.Build.Dense(n, n, (i, j) => c[(long)i * n + j]);
        var eigenvalues = matrix.Evd(MathNet.Numerics.LinearAlgebra.Symmetricity.Symmetric).EigenValues;
        double max = 0, min = double.PositiveInfinity;
        foreach (var eigenvalue in eigenvalues)
        {
            double real = eigenvalue.Real;
            max = Math.Max(max, Math.Abs(real));
            min = Math.Min(min, real);
        }
        if (double.IsNaN(min))
        {
            return double.NaN;
        }
        return min == 0 ? double.PositiveInfinity : max / Math.Abs(min);
    }
}
