using CryoEmPS.Core.Rotations;

namespace CryoEmPS.Core.Reconstruction;

/// <summary>
/// A deterministic near-uniform set of K rotations (super-Fibonacci spiral on unit quaternions, Alexa, CVPR 2022):
/// the same K always gives the same rotations, with no seed. The EM's default Ω^K when no rotation set is given.
/// </summary>
internal static class ApproxEmRotationGrid
{
    private const double Phi = 1.4142135623730950488;   // √2
    private const double Psi = 1.533751168755204288118041;

    public static RotationSet Create(int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), "K must be at least 1.");
        var r = new Rotation[k];
        for (int i = 0; i < k; i++)
        {
            double s = i + 0.5, t = s / k;
            double a = Math.Sqrt(t), b = Math.Sqrt(1 - t);
            double alpha = 2 * Math.PI * s / Phi, beta = 2 * Math.PI * s / Psi;
            r[i] = UniformRotation.FromQuaternion(a * Math.Sin(alpha), a * Math.Cos(alpha), b * Math.Sin(beta), b * Math.Cos(beta));
        }
        return new RotationSet(r, RotationSetKind.Grid, k);
    }
}
