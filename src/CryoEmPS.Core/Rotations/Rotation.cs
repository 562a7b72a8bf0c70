namespace CryoEmPS.Core.Rotations;

/// <summary>
/// A rotation as a 3×3 matrix R (row-major, acting on column vectors (x, y, z)).
/// Convention (CONVENTIONS §4): the rotated volume is f_R(r) = f(Rᵀ r), its projection
/// I_R(x, y) = ∫ f(Rᵀ (x, y, z)) dz, beam along z. ZYZ Euler angles are RELION's
/// rot/tilt/psi in degrees: R = Rz(psi) · Ry(tilt) · Rz(rot) with RELION's sign convention,
/// which is exactly RELION's Euler_angles2matrix (the matrix RELION's projector applies).
/// </summary>
public readonly struct Rotation : IEquatable<Rotation>
{
    public const double OrthonormalTolerance = 1e-9;

    private readonly double _m00, _m01, _m02, _m10, _m11, _m12, _m20, _m21, _m22;

    public Rotation(double m00, double m01, double m02, double m10, double m11, double m12, double m20, double m21, double m22)
    {
        _m00 = m00; _m01 = m01; _m02 = m02; _m10 = m10; _m11 = m11; _m12 = m12; _m20 = m20; _m21 = m21; _m22 = m22;
    }

    /// <summary>From a row-major 9-element array or a [3,3] matrix; validated orthonormal with det +1 (tolerance 1e-9).</summary>
    public static Rotation FromMatrix(double[,] m)
    {
        if (m.GetLength(0) != 3 || m.GetLength(1) != 3) throw new ArgumentException("A rotation matrix must be 3×3.");
        var r = new Rotation(m[0, 0], m[0, 1], m[0, 2], m[1, 0], m[1, 1], m[1, 2], m[2, 0], m[2, 1], m[2, 2]);
        r.Validate();
        return r;
    }

    public static Rotation Identity => new(1, 0, 0, 0, 1, 0, 0, 0, 1);

    public double this[int row, int col] => (row * 3 + col) switch
    {
        0 => _m00, 1 => _m01, 2 => _m02, 3 => _m10, 4 => _m11, 5 => _m12, 6 => _m20, 7 => _m21, 8 => _m22,
        _ => throw new IndexOutOfRangeException()
    };

    /// <summary>The matrix as a new [3,3] array.</summary>
    public double[,] Matrix => new[,] { { _m00, _m01, _m02 }, { _m10, _m11, _m12 }, { _m20, _m21, _m22 } };

    public Rotation Transpose() => new(_m00, _m10, _m20, _m01, _m11, _m21, _m02, _m12, _m22);

    public static Rotation operator *(Rotation a, Rotation b)
    {
        double M(int i, int j) => a[i, 0] * b[0, j] + a[i, 1] * b[1, j] + a[i, 2] * b[2, j];
        return new Rotation(M(0, 0), M(0, 1), M(0, 2), M(1, 0), M(1, 1), M(1, 2), M(2, 0), M(2, 1), M(2, 2));
    }

    /// <summary>R·v.</summary>
    public (double X, double Y, double Z) Apply(double x, double y, double z)
        => (_m00 * x + _m01 * y + _m02 * z, _m10 * x + _m11 * y + _m12 * z, _m20 * x + _m21 * y + _m22 * z);

    /// <summary>Rᵀ·v.</summary>
    public (double X, double Y, double Z) ApplyTranspose(double x, double y, double z)
        => (_m00 * x + _m10 * y + _m20 * z, _m01 * x + _m11 * y + _m21 * z, _m02 * x + _m12 * y + _m22 * z);

    public double Determinant =>
        _m00 * (_m11 * _m22 - _m12 * _m21) - _m01 * (_m10 * _m22 - _m12 * _m20) + _m02 * (_m10 * _m21 - _m11 * _m20);

    /// <summary>max |RᵀR − I| and |det − 1|.</summary>
    public double OrthonormalityError()
    {
        double err = Math.Abs(Determinant - 1);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
            {
                double s = this[0, i] * this[0, j] + this[1, i] * this[1, j] + this[2, i] * this[2, j];
                err = Math.Max(err, Math.Abs(s - (i == j ? 1 : 0)));
            }
        return err;
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless orthonormal with det +1 to 1e-9.</summary>
    public void Validate()
    {
        double e = OrthonormalityError();
        if (!(e <= OrthonormalTolerance))
            throw new ArgumentException($"Not a rotation: the matrix must be orthonormal with determinant +1 (tolerance {OrthonormalTolerance:g}), but its error is {e:g3}.");
    }

    /// <summary>From RELION ZYZ Euler angles in degrees (rot, tilt, psi).</summary>
    public static Rotation FromEulerZyz(double rotDeg, double tiltDeg, double psiDeg)
    {
        double a = rotDeg * Math.PI / 180, b = tiltDeg * Math.PI / 180, g = psiDeg * Math.PI / 180;
        double ca = Math.Cos(a), sa = Math.Sin(a), cb = Math.Cos(b), sb = Math.Sin(b), cg = Math.Cos(g), sg = Math.Sin(g);
        double cc = cb * ca, cs = cb * sa;
        return new Rotation(
            cg * cc - sg * sa, cg * cs + sg * ca, -cg * sb,
            -sg * cc - cg * sa, -sg * cs + cg * ca, sg * sb,
            sb * ca, sb * sa, cb);
    }

    /// <summary>RELION ZYZ Euler angles in degrees (rot, tilt, psi), tilt in [0, 180], rot and psi in (−180, 180].</summary>
    public (double Rot, double Tilt, double Psi) ToEulerZyz()
    {
        double cb = Math.Clamp(_m22, -1.0, 1.0);
        double tilt = Math.Acos(cb);
        double sb = Math.Sqrt(_m20 * _m20 + _m21 * _m21);
        double rot, psi;
        if (sb > 1e-10)
        {
            rot = Math.Atan2(_m21, _m20);
            psi = Math.Atan2(_m12, -_m02);
        }
        else
        {
            // Gimbal lock: only rot ± psi is defined; put it all in psi.
            rot = 0;
            psi = cb > 0 ? Math.Atan2(-_m10, _m00) : Math.Atan2(_m10, -_m00);
            tilt = cb > 0 ? 0 : Math.PI;
        }
        return (rot * 180 / Math.PI, tilt * 180 / Math.PI, psi * 180 / Math.PI);
    }

    public bool Equals(Rotation o)
        => _m00 == o._m00 && _m01 == o._m01 && _m02 == o._m02 && _m10 == o._m10 && _m11 == o._m11 && _m12 == o._m12 && _m20 == o._m20 && _m21 == o._m21 && _m22 == o._m22;
    public override bool Equals(object? obj) => obj is Rotation r && Equals(r);
    public override int GetHashCode() => HashCode.Combine(_m00, _m11, _m22, _m01, _m12);

    public override string ToString()
    {
        var (r, t, p) = ToEulerZyz();
        return $"Rotation(rot {r:0.##}°, tilt {t:0.##}°, psi {p:0.##}°)";
    }
}
