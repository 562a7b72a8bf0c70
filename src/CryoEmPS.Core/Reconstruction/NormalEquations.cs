namespace CryoEmPS.Core.Reconstruction;

/// <summary>The normal equations C x = y of eq. (28), built from the E-step's sufficient statistics.</summary>
public sealed class NormalEquations
{
    internal NormalEquations(int n, double[] c, double[] y)
    {
        ParameterCount = n;
        Matrix = c;
        RightHandSide = y;
    }

    public int ParameterCount { get; }
    /// <summary>C = Σ_ω B_ωᵀ diag(m_ω) B_ω (eq. 29), n×n row-major, both triangles filled.</summary>
    public double[] Matrix { get; }
    /// <summary>y = Σ_ω B_ωᵀ b_ω (eq. 30).</summary>
    public double[] RightHandSide { get; }
}
