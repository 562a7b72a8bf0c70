using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// The Gaussian prior of the MAP M-step (Scheres 2012, as in RELION): the volume's DFT coefficients F_j are independent with
/// variance τ²(|ξ_j|) that depends only on the radial frequency, −log p(f) = ½ Σ_j |F_j|²/τ²_j + const. On the Fourier–Bessel
/// parameters p this is ½ pᵀRp with R block-diagonal: for every (ℓ, m) the same S(ℓ)×S(ℓ) block
///   R_ℓ[s, s′] = L³ · c³ ∫₀¹ j_{ℓ,s}(k) j_{ℓ,s′}(k) k² / τ²(c·k·L) dk,
/// because Σ_j ≈ L³ ∫ dξ, f̂(ck, θ, φ) = Σ x_{ℓ,m,s} Y_ℓ^m j_{ℓ,s}(k), the spherical harmonics are orthonormal and the real
/// parametrisation mixes only m (so Σ_m x̄_{ℓms} x_{ℓms′} = Σ_m p_{ℓms} p_{ℓms′}). The shell of frequency |ξ| = ck is c·k·L in
/// DFT index units (the shells of <see cref="CryoEmPS.Core.Evaluation.Fsc"/>). τ² is not diagonal in s, because every j_{ℓ,s} spans all shells;
/// with a constant τ², R = (L³/τ²)·I (the basis is orthonormal). The MAP normal equations are (C + σ²R) p = y.
/// </summary>
public sealed class FourierBesselPrior
{
    /// <summary>
    /// Gauss–Legendre nodes per piece of k ∈ [0, 1] between the integer shells (where the interpolated τ² has its kinks): each
    /// piece holds less than one oscillation of any j_{ℓ,s}, so the sum is exact to rounding.
    /// </summary>
    private const int NodesPerPiece = 24;

    private readonly double[][] _blocks;

    /// <summary>
    /// The prior of signal variance <paramref name="tau2"/>[shell] per DFT voxel (shells 0..floor(L/2), linear in between,
    /// the last value beyond), for the Fourier–Bessel basis <paramref name="basis"/>.
    /// </summary>
    public FourierBesselPrior(FourierBesselBasis basis, double[] tau2)
    {
        ArgumentNullException.ThrowIfNull(basis);
        ArgumentNullException.ThrowIfNull(tau2);
        if (tau2.Length < 1 || tau2.Any(t => !(t > 0) || double.IsInfinity(t)))
        {
            throw new ArgumentException("τ² must hold at least one shell, every value positive and finite.", nameof(tau2));
        }

        Basis = basis;
        Tau2 = (double[])tau2.Clone();
        int l = basis.Size;
        double c = FourierBesselBasis.Bandlimit;
        var (nodes, weight) = Quadrature(l);
        for (int q = 0; q < nodes.Length; q++)
        {
            double k = nodes[q];
            weight[q] *= k * k / Interpolate(Tau2, c * k * l) * (double)l * l * l * c * c * c;
        }

        _blocks = new double[basis.EllMax + 1][];
        for (int ell = 0; ell <= basis.EllMax; ell++)
        {
            int count = basis.RadialCount(ell);
            int points = nodes.Length;
            var radial = new double[count * points];
            for (int s = 0; s < count; s++)
            {
                for (int q = 0; q < points; q++)
                {
                    radial[s * points + q] = basis.RadialFunction(ell, s + 1, nodes[q]);
                }
            }

            var block = new double[count * count];
            for (int s = 0; s < count; s++)
            {
                for (int t = s; t < count; t++)
                {
                    double sum = 0;
                    for (int q = 0; q < points; q++)
                    {
                        sum += weight[q] * radial[s * points + q] * radial[t * points + q];
                    }

                    block[s * count + t] = sum;
                    block[t * count + s] = sum;
                }
            }

            _blocks[ell] = block;
        }
    }

    /// <summary>A prior with the given R_ℓ blocks (S(ℓ)×S(ℓ), row-major).</summary>
    private FourierBesselPrior(FourierBesselBasis basis, double[][] blocks, double[] tau2)
    {
        Basis = basis;
        _blocks = blocks;
        Tau2 = tau2;
    }

    /// <summary>
    /// The diagonal prior p_{ℓ,m,s} ~ N(0, τ²_{ℓ,s}) with τ² the same for every m (so it stays rotation-invariant: Wigner-D only
    /// mixes m): R_ℓ = diag(1/τ²_{ℓ,s}). <paramref name="tau2"/>[ℓ][s − 1] in coefficient units.
    /// </summary>
    public static FourierBesselPrior Diagonal(FourierBesselBasis basis, double[][] tau2)
    {
        var blocks = new double[basis.EllMax + 1][];
        for (int ell = 0; ell <= basis.EllMax; ell++)
        {
            int count = basis.RadialCount(ell);
            if (tau2[ell].Length != count || tau2[ell].Any(t => !(t > 0) || double.IsInfinity(t)))
            {
                throw new ArgumentException($"τ² of ℓ = {ell} needs {count} positive finite values.", nameof(tau2));
            }

            blocks[ell] = new double[count * count];
            for (int s = 0; s < count; s++)
            {
                blocks[ell][s * count + s] = 1 / tau2[ell][s];
            }
        }

        return new FourierBesselPrior(basis, blocks, tau2.SelectMany(t => t).ToArray());
    }

    /// <summary>
    /// The diagonal prior estimated from two independent half maps' unregularised solutions of this M-step: the signal variance
    /// of group (ℓ, s) is the mean over m of p¹·p² (their noises are independent, so this is unbiased, the coefficient-space
    /// form of RELION's τ² = FSC/(1 − FSC)·σ²_rec); τ² = T·max(signal, floor).
    /// </summary>
    public static FourierBesselPrior FromHalves(FourierBesselBasis basis, double[] half1, double[] half2, double tau2Fudge)
        => Diagonal(basis, GroupMeans(basis, (i, _) => half1[i] * half2[i], tau2Fudge));

    /// <summary>
    /// The diagonal prior estimated from one unregularised solution p = C⁻¹y of this M-step: the signal variance of group (ℓ, s)
    /// is the mean over m of p² − σ²·C⁻¹_ii (its power less the noise variance its normal equations predict); τ² =
    /// T·max(signal, floor).
    /// </summary>
    public static FourierBesselPrior FromSolution(FourierBesselBasis basis, double[] solution, double[] inverse, double noiseVariance,
        double tau2Fudge)
    {
        int n = basis.Count;
        return Diagonal(basis, GroupMeans(basis, (i, _) => solution[i] * solution[i] - noiseVariance * inverse[(long)i * n + i],
            tau2Fudge));
    }

    /// <summary>T·max(mean over m of value(index, ℓ), floor) per (ℓ, s); the floor is 1e-6 of the largest group's.</summary>
    private static double[][] GroupMeans(FourierBesselBasis basis, Func<int, int, double> value, double tau2Fudge)
    {
        var means = new double[basis.EllMax + 1][];
        double largest = 0;
        for (int ell = 0; ell <= basis.EllMax; ell++)
        {
            means[ell] = new double[basis.RadialCount(ell)];
            for (int s = 0; s < means[ell].Length; s++)
            {
                double sum = 0;
                for (int m = -ell; m <= ell; m++)
                {
                    sum += value(basis.Index(ell, m, s + 1), ell);
                }

                means[ell][s] = sum / (2 * ell + 1);
                largest = Math.Max(largest, means[ell][s]);
            }
        }

        double floor = largest > 0 ? 1e-6 * largest : 1e-300;
        return means.Select(group => group.Select(t => tau2Fudge * Math.Max(t, floor)).ToArray()).ToArray();
    }

    public FourierBesselBasis Basis { get; }

    /// <summary>
    /// τ²: per shell in DFT units (the variance of one DFT coefficient of the signal) for the shell form; per (ℓ, s) in
    /// coefficient units, ℓ outermost, for <see cref="Diagonal"/>.
    /// </summary>
    public double[] Tau2 { get; }

    /// <summary>R_ℓ, S(ℓ)×S(ℓ) row-major (a copy).</summary>
    public double[] Block(int ell) => (double[])_blocks[ell].Clone();

    /// <summary>pᵀRp.</summary>
    public double Quadratic(double[] p)
    {
        double sum = 0;
        ForEachEntry((i, j, value) => sum += p[i] * value * p[j]);
        return sum;
    }

    /// <summary>The MAP normal equations (C + σ²R) p = y of <paramref name="equations"/> (a new matrix; y is shared).</summary>
    public NormalEquations AddTo(NormalEquations equations, double noiseVariance)
    {
        int n = equations.ParameterCount;
        if (n != Basis.Count)
        {
            throw new ArgumentException($"The normal equations have {n} parameters; the prior's basis has {Basis.Count}.");
        }

        var matrix = (double[])equations.Matrix.Clone();
        ForEachEntry((i, j, value) => matrix[(long)i * n + j] += noiseVariance * value);
        return new NormalEquations(n, matrix, equations.RightHandSide);
    }

    /// <summary>Calls <paramref name="action"/>(i, j, R[i, j]) for every non-zero entry of R (parameter indices of the basis).</summary>
    private void ForEachEntry(Action<int, int, double> action)
    {
        for (int ell = 0; ell <= Basis.EllMax; ell++)
        {
            int count = Basis.RadialCount(ell);
            var block = _blocks[ell];
            for (int m = -ell; m <= ell; m++)
            {
                for (int s = 0; s < count; s++)
                {
                    for (int t = 0; t < count; t++)
                    {
                        action(Basis.Index(ell, m, s + 1), Basis.Index(ell, m, t + 1), block[s * count + t]);
                    }
                }
            }
        }
    }

    /// <summary>Nodes and weights on [0, 1], piecewise between k = shell/(c·L) for the integer shells.</summary>
    private static (double[] Nodes, double[] Weights) Quadrature(int size)
    {
        double c = FourierBesselBasis.Bandlimit;
        var edges = new List<double> { 0 };
        for (int shell = 1; shell < c * size; shell++)
        {
            edges.Add(shell / (c * size));
        }

        edges.Add(1);
        var nodes = new List<double>();
        var weights = new List<double>();
        for (int piece = 0; piece + 1 < edges.Count; piece++)
        {
            var rule = new MathNet.Numerics.Integration.GaussLegendreRule(edges[piece], edges[piece + 1], NodesPerPiece);
            nodes.AddRange(rule.Abscissas);
            weights.AddRange(rule.Weights);
        }

        return (nodes.ToArray(), weights.ToArray());
    }

    /// <summary>Linear interpolation of <paramref name="values"/>[shell] at a fractional shell; the end values beyond.</summary>
    private static double Interpolate(double[] values, double shell)
    {
        if (shell <= 0)
        {
            return values[0];
        }

        int below = (int)Math.Floor(shell);
        if (below >= values.Length - 1)
        {
            return values[^1];
        }

        double t = shell - below;
        return (1 - t) * values[below] + t * values[below + 1];
    }
}
