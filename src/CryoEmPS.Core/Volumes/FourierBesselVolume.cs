namespace CryoEmPS.Core.Volumes;

/// <summary>
/// A volume given by its real Fourier–Bessel parameters (see <see cref="FourierBesselBasis"/> for the
/// parametrisation and ordering). <see cref="VoxelSize"/> is in Å (0 = unknown).
/// </summary>
public sealed class FourierBesselVolume
{
    public FourierBesselVolume(FourierBesselBasis basis, double[] coefficients, double voxelSize = 0, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(basis);
        ArgumentNullException.ThrowIfNull(coefficients);
        if (coefficients.Length != basis.Count)
            throw new ArgumentException(
                $"The basis for L = {basis.Size}, ℓmax = {basis.EllMax} has {basis.Count} real parameters, but {coefficients.Length} coefficients were given. " +
                "Coefficients of one (L, ℓmax) cannot be used with another; use WithEllMax to change ℓmax.", nameof(coefficients));
        foreach (var c in coefficients)
            if (!double.IsFinite(c)) throw new ArgumentException("Fourier–Bessel coefficients must be finite numbers.", nameof(coefficients));
        if (!(voxelSize >= 0) || double.IsInfinity(voxelSize))
            throw new ArgumentOutOfRangeException(nameof(voxelSize), "Voxel size must be finite and ≥ 0 (0 = unknown).");
        Basis = basis;
        Coefficients = coefficients;
        VoxelSize = voxelSize;
        Name = name ?? "";
    }

    public FourierBesselBasis Basis { get; }
    /// <summary>The real parameters, length <see cref="FourierBesselBasis.Count"/>.</summary>
    public double[] Coefficients { get; }
    public int Size => Basis.Size;
    public int EllMax => Basis.EllMax;
    public int Count => Basis.Count;
    public double VoxelSize { get; set; }
    public string Name { get; set; }

    /// <summary>
    /// The same volume with ℓmax changed: truncates (drops ℓ &gt; newEllMax) or zero-pads. The S(ℓ)
    /// depend on L only, so the parameter sets nest and the lower ℓmax is a prefix.
    /// </summary>
    public FourierBesselVolume WithEllMax(int newEllMax)
    {
        var b = FourierBesselBasis.Create(Size, newEllMax);
        var c = new double[b.Count];
        Array.Copy(Coefficients, c, Math.Min(b.Count, Coefficients.Length));
        return new FourierBesselVolume(b, c, VoxelSize, Name);
    }

    /// <summary>The expansion sampled at the L³ voxel centres (see <see cref="FourierBesselTransform.Synthesize"/>).</summary>
    public Volume ToVolume() => FourierBesselTransform.Synthesize(this);

    /// <summary>√Σp², the L²(ℝ³) norm of the continuous volume (the basis is orthonormal).</summary>
    public double Norm() { double s = 0; foreach (var v in Coefficients) s += v * v; return Math.Sqrt(s); }

    public override string ToString()
    {
        string nm = string.IsNullOrEmpty(Name) ? "" : $"{Name}: ";
        string vs = VoxelSize > 0 ? $", {VoxelSize:0.###} Å/voxel" : "";
        return $"{nm}FourierBesselVolume L = {Size}, ℓmax = {EllMax}, {Count} parameters{vs}";
    }
}
