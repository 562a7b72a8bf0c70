namespace CryoEmPS.Core.Rotations;

/// <summary>Uniform (Haar) random rotations by Shoemake's method: a uniform unit quaternion from three uniform numbers.</summary>
public static class UniformRotation
{
    /// <summary>Draws one rotation uniformly from SO(3) using <paramref name="rng"/> (three draws).</summary>
    public static Rotation Draw(Random rng)
    {
        double u1 = rng.NextDouble(), u2 = rng.NextDouble(), u3 = rng.NextDouble();
        double a = Math.Sqrt(1 - u1), b = Math.Sqrt(u1);
        double w = a * Math.Sin(2 * Math.PI * u2), x = a * Math.Cos(2 * Math.PI * u2);
        double y = b * Math.Sin(2 * Math.PI * u3), z = b * Math.Cos(2 * Math.PI * u3);
        return FromQuaternion(w, x, y, z);
    }

    /// <summary>The rotation matrix of the unit quaternion (w, x, y, z) (normalised here).</summary>
    public static Rotation FromQuaternion(double w, double x, double y, double z)
    {
        double n = Math.Sqrt(w * w + x * x + y * y + z * z);
        w /= n; x /= n; y /= n; z /= n;
        return new Rotation(
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y));
    }
}
