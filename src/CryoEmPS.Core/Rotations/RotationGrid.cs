using CryoEmPS.Core.Numerics;
namespace CryoEmPS.Core.Rotations;

/// <summary>Ways to make a <see cref="RotationSet"/>: a deterministic near-uniform grid, uniform random draws, or given angles/matrices.</summary>
public static class RotationGrid
{
    // Super-Fibonacci constants (Alexa, "Super-Fibonacci Spirals: Fast, Low-Discrepancy Sampling of SO(3)", CVPR 2022):
    // φ = √2 and ψ the real root of ψ⁴ = ψ + 4.
    private static readonly double Phi = Math.Sqrt(2.0);
    private const double Psi = 1.533751168755204288118041;

    /// <summary>
    /// One super-Fibonacci grid per entry of <paramref name="counts"/> (a rotation schedule), made once per distinct K and
    /// shared by the entries that ask for it.
    /// </summary>
    public static RotationSet[] SuperFibonacci(IEnumerable<int> counts)
    {
        var made = new Dictionary<int, RotationSet>();
        return counts.Select(count => made.TryGetValue(count, out var grid) ? grid : made[count] = SuperFibonacci(count)).ToArray();
    }

    /// <summary>
    /// Exactly <paramref name="count"/> deterministic, near-uniform rotations: a super-Fibonacci spiral of unit
    /// quaternions (Alexa 2022), sample i = 0..K−1 at s = i + ½, t = s/K, r = √t, R = √(1 − t),
    /// α = 2πs/φ, β = 2πs/ψ, q = (r sin α, r cos α, R sin β, R cos β).
    /// </summary>
    public static RotationSet SuperFibonacci(int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"The number of rotations must be at least 1; got {count}.");
        var rots = new Rotation[count];
        for (int i = 0; i < count; i++)
        {
            double s = i + 0.5, t = s / count, d = 2 * Math.PI * s;
            double r = Math.Sqrt(t), rr = Math.Sqrt(1 - t);
            double a = d / Phi, b = d / Psi;
            rots[i] = UniformRotation.FromQuaternion(rr * Math.Cos(b), r * Math.Sin(a), r * Math.Cos(a), rr * Math.Sin(b));
        }
        return new RotationSet(rots, RotationSetKind.Grid, count);
    }

    /// <summary>
    /// <paramref name="count"/> Haar-uniform random rotations from <see cref="UniformRotation.Draw"/> with
    /// <c>new SeededRandom(seed)</c> (xoshiro256**).
    /// </summary>
    public static RotationSet Random(int count, int seed)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"The number of rotations must be at least 1; got {count}.");
        var rng = new SeededRandom(seed);
        var rots = new Rotation[count];
        for (int i = 0; i < count; i++) rots[i] = UniformRotation.Draw(rng);
        return new RotationSet(rots, RotationSetKind.Random, count, seed);
    }

    /// <summary>A set from an n×3 array of RELION ZYZ Euler angles (rot, tilt, psi) in degrees.</summary>
    public static RotationSet FromEulerAngles(double[,] angles)
    {
        if (angles.GetLength(1) != 3 || angles.GetLength(0) < 1)
            throw new ArgumentException($"Euler angles must be an n×3 array (rot, tilt, psi in degrees, one row per rotation); got {angles.GetLength(0)}×{angles.GetLength(1)}.", nameof(angles));
        var rots = new Rotation[angles.GetLength(0)];
        for (int i = 0; i < rots.Length; i++)
        {
            double a = angles[i, 0], b = angles[i, 1], c = angles[i, 2];
            if (!double.IsFinite(a) || !double.IsFinite(b) || !double.IsFinite(c)) throw new ArgumentException($"Euler angle row {i} is not finite.", nameof(angles));
            rots[i] = Rotation.FromEulerZyz(a, b, c);
        }
        return new RotationSet(rots, RotationSetKind.Custom);
    }

    /// <summary>The rotation angle between two rotations, in radians: arccos((tr(AᵀB) − 1)/2).</summary>
    public static double Distance(Rotation a, Rotation b)
    {
        double tr = 0;
        for (int i = 0; i < 3; i++) for (int k = 0; k < 3; k++) tr += a[k, i] * b[k, i];
        return Math.Acos(Math.Clamp((tr - 1) / 2, -1.0, 1.0));
    }

    /// <summary>For each rotation, the angle (radians) to its nearest other rotation in the set (O(K²), parallel).</summary>
    public static double[] NearestNeighbourAngles(RotationSet set, CancellationToken cancellationToken = default)
    {
        var q = set.Rotations.Select(ToQuaternion).ToArray();
        var res = new double[q.Length];
        Parallel.For(0, q.Length, new ParallelOptions { CancellationToken = cancellationToken }, i =>
        {
            double best = 0;
            var a = q[i];
            for (int j = 0; j < q.Length; j++)
            {
                if (j == i) continue;
                var b = q[j];
                double d = Math.Abs(a.W * b.W + a.X * b.X + a.Y * b.Y + a.Z * b.Z);
                if (d > best) best = d;
            }
            res[i] = 2 * Math.Acos(Math.Min(1.0, best));
        });
        return res;
    }

    /// <summary>A unit quaternion (w ≥ 0) of a rotation matrix (Shepperd's method).</summary>
    public static (double W, double X, double Y, double Z) ToQuaternion(Rotation r)
    {
        double t = r[0, 0] + r[1, 1] + r[2, 2];
        double w, x, y, z;
        if (t > 0)
        {
            double s = Math.Sqrt(t + 1) * 2;
            w = s / 4; x = (r[2, 1] - r[1, 2]) / s; y = (r[0, 2] - r[2, 0]) / s; z = (r[1, 0] - r[0, 1]) / s;
        }
        else if (r[0, 0] > r[1, 1] && r[0, 0] > r[2, 2])
        {
            double s = Math.Sqrt(1 + r[0, 0] - r[1, 1] - r[2, 2]) * 2;
            w = (r[2, 1] - r[1, 2]) / s; x = s / 4; y = (r[0, 1] + r[1, 0]) / s; z = (r[0, 2] + r[2, 0]) / s;
        }
        else if (r[1, 1] > r[2, 2])
        {
            double s = Math.Sqrt(1 + r[1, 1] - r[0, 0] - r[2, 2]) * 2;
            w = (r[0, 2] - r[2, 0]) / s; x = (r[0, 1] + r[1, 0]) / s; y = s / 4; z = (r[1, 2] + r[2, 1]) / s;
        }
        else
        {
            double s = Math.Sqrt(1 + r[2, 2] - r[0, 0] - r[1, 1]) * 2;
            w = (r[1, 0] - r[0, 1]) / s; x = (r[0, 2] + r[2, 0]) / s; y = (r[1, 2] + r[2, 1]) / s; z = s / 4;
        }
        if (w < 0) { w = -w; x = -x; y = -y; z = -z; }
        return (w, x, y, z);
    }
}
