namespace CryoEmPS.Core.Projection;

/// <summary>
/// The contrast transfer function of one micrograph (RELION / CTFFIND4 parameters; CONVENTIONS.md §4):
/// <code>
///   λ      = 12.2643247 / √(V(1 + 0.978466e−6·V)) Å                    (V in volts, relativistic)
///   Δf(θ)  = (U + V)/2 + (U − V)/2 · cos 2(θ − θ_ast)                   (Å, underfocus positive, θ = atan2(k_y, k_x))
///   χ(k)   = πλΔf(θ)k² − (π/2)·Cs·λ³·k⁴ + phase shift                   (Cs in Å, k in 1/Å)
///   CTF(k) = (√(1 − w²)·sin χ + w·cos χ) · exp(−B k²/4)                 (w = amplitude contrast)
/// </code>
/// The sign is RELION's (ctf.h) for contrast-inverted images in which particles are white, as CryoEmPS's are: at low
/// frequency with amplitude contrast w &gt; 0 the CTF is +w, so a positive density stays positive. CTFFIND4's model has the
/// opposite sign (raw, particles-dark images), with the same underfocus-positive defocus values: never negate defocus.
/// <para>
/// Frequencies are in 1/Å; <see cref="PixelSize"/> (Å) turns a DFT index into one: k = index / (n · pixel size). Immutable;
/// two CTFs with equal parameters are equal, so their micrographs share one filter group in the EM.
/// </para>
/// </summary>
public sealed record Ctf
{
    /// <summary>A CTF; throws <see cref="ArgumentException"/> for a parameter out of its physical range.</summary>
    public Ctf(double defocusU, double defocusV, double defocusAngle, double voltage, double sphericalAberration,
        double amplitudeContrast, double pixelSize, double phaseShift = 0, double bFactor = 0)
    {
        Check(defocusU > 0 && double.IsFinite(defocusU), nameof(defocusU),
            $"DefocusU must be a positive, finite underfocus in Å; got {defocusU}.");
        Check(defocusV > 0 && double.IsFinite(defocusV), nameof(defocusV),
            $"DefocusV must be a positive, finite underfocus in Å; got {defocusV}.");
        Check(double.IsFinite(defocusAngle), nameof(defocusAngle), $"DefocusAngle must be finite (degrees); got {defocusAngle}.");
        Check(voltage > 0 && double.IsFinite(voltage), nameof(voltage), $"Voltage must be positive (kV); got {voltage}.");
        Check(sphericalAberration >= 0 && double.IsFinite(sphericalAberration), nameof(sphericalAberration),
            $"SphericalAberration must be 0 or more (mm); got {sphericalAberration}.");
        Check(amplitudeContrast >= 0 && amplitudeContrast < 1, nameof(amplitudeContrast),
            $"AmplitudeContrast must lie in [0, 1); got {amplitudeContrast}.");
        Check(pixelSize > 0 && double.IsFinite(pixelSize), nameof(pixelSize), $"PixelSize must be positive (Å); got {pixelSize}.");
        Check(double.IsFinite(phaseShift), nameof(phaseShift), $"PhaseShift must be finite (degrees); got {phaseShift}.");
        Check(double.IsFinite(bFactor), nameof(bFactor), $"BFactor must be finite (Å²); got {bFactor}.");
        DefocusU = defocusU;
        DefocusV = defocusV;
        DefocusAngle = defocusAngle;
        Voltage = voltage;
        SphericalAberration = sphericalAberration;
        AmplitudeContrast = amplitudeContrast;
        PixelSize = pixelSize;
        PhaseShift = phaseShift;
        BFactor = bFactor;
    }

    /// <summary>Underfocus along the astigmatism's major axis θ_ast, Å (RELION rlnDefocusU).</summary>
    public double DefocusU { get; }

    /// <summary>Underfocus along the minor axis θ_ast + 90°, Å (rlnDefocusV).</summary>
    public double DefocusV { get; }

    /// <summary>θ_ast, degrees from the x axis towards y (rlnDefocusAngle).</summary>
    public double DefocusAngle { get; }

    /// <summary>Acceleration voltage, kV (rlnVoltage).</summary>
    public double Voltage { get; }

    /// <summary>Spherical aberration Cs, mm (rlnSphericalAberration).</summary>
    public double SphericalAberration { get; }

    /// <summary>Amplitude contrast w, 0 ≤ w &lt; 1 (rlnAmplitudeContrast).</summary>
    public double AmplitudeContrast { get; }

    /// <summary>Å per pixel of the image the CTF is evaluated on.</summary>
    public double PixelSize { get; }

    /// <summary>Extra phase shift (phase plate), degrees (rlnPhaseShift).</summary>
    public double PhaseShift { get; }

    /// <summary>B-factor of the envelope exp(−B k²/4), Å² (0 = no envelope).</summary>
    public double BFactor { get; }

    /// <summary>The mean defocus (U + V)/2, Å.</summary>
    public double DefocusMean => 0.5 * (DefocusU + DefocusV);

    /// <summary>λ, Å: the relativistic electron wavelength at <see cref="Voltage"/>.</summary>
    public double Wavelength => ElectronWavelength(Voltage);

    /// <summary>The relativistic electron wavelength in Å at <paramref name="voltageKv"/> kV (300 kV: 0.019688 Å).</summary>
    public static double ElectronWavelength(double voltageKv)
    {
        double volts = voltageKv * 1000;
        return 12.2643247 / Math.Sqrt(volts * (1 + 0.978466e-6 * volts));
    }

    /// <summary>The same CTF on an image of another pixel size (after downsampling: the physics does not change).</summary>
    public Ctf WithPixelSize(double pixelSize)
        => new(DefocusU, DefocusV, DefocusAngle, Voltage, SphericalAberration, AmplitudeContrast, pixelSize, PhaseShift, BFactor);

    /// <summary>Δf(θ), Å, at azimuth <paramref name="azimuth"/> (radians from the x axis).</summary>
    public double Defocus(double azimuth)
        => DefocusMean + 0.5 * (DefocusU - DefocusV) * Math.Cos(2 * (azimuth - DefocusAngle * Math.PI / 180));

    /// <summary>χ at the spatial frequency (<paramref name="kx"/>, <paramref name="ky"/>) in 1/Å.</summary>
    public double Chi(double kx, double ky)
    {
        double k2 = kx * kx + ky * ky;
        double lambda = Wavelength;
        double cs = SphericalAberration * 1e7;
        double defocus = k2 == 0 ? DefocusMean : Defocus(Math.Atan2(ky, kx));
        return Math.PI * lambda * defocus * k2 - 0.5 * Math.PI * cs * lambda * lambda * lambda * k2 * k2 + PhaseShift * Math.PI / 180;
    }

    /// <summary>The CTF at (<paramref name="kx"/>, <paramref name="ky"/>) in 1/Å, envelope included.</summary>
    public double Evaluate(double kx, double ky)
    {
        double chi = Chi(kx, ky);
        double w = AmplitudeContrast;
        double value = Math.Sqrt(1 - w * w) * Math.Sin(chi) + w * Math.Cos(chi);
        return BFactor == 0 ? value : value * Math.Exp(-BFactor * (kx * kx + ky * ky) / 4);
    }

    /// <summary>
    /// The CTF on the full DFT grid of an <paramref name="sizeY"/>×<paramref name="sizeX"/> image, [y, x] in DFT order (index
    /// k ↔ k/n cycles/pixel for k ≤ n/2, (k − n)/n above), or with <paramref name="centered"/> with the zero frequency at
    /// (⌊n_y/2⌋, ⌊n_x/2⌋) for pictures. Frequencies are index/(n·<see cref="PixelSize"/>) in 1/Å.
    /// </summary>
    public double[] Grid(int sizeY, int sizeX, bool centered = false)
    {
        if (sizeY < 1 || sizeX < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(sizeY), $"The grid must be at least 1×1; got {sizeY}×{sizeX}.");
        }

        var grid = new double[(long)sizeY * sizeX];
        for (int y = 0; y < sizeY; y++)
        {
            double ky = Frequency(y, sizeY, centered);
            for (int x = 0; x < sizeX; x++)
            {
                grid[(long)y * sizeX + x] = Evaluate(Frequency(x, sizeX, centered), ky);
            }
        }

        return grid;
    }

    /// <summary>
    /// The 1/Å frequency of DFT index <paramref name="index"/> on an axis of <paramref name="size"/> samples (centred: index
    /// ⌊n/2⌋ is zero).
    /// </summary>
    public double Frequency(int index, int size, bool centered = false)
    {
        int k = centered ? index - size / 2 : (index <= size / 2 ? index : index - size);
        return k / (size * PixelSize);
    }

    /// <summary>
    /// The spatial frequencies (1/Å) of the first <paramref name="count"/> zeros of the CTF along azimuth
    /// <paramref name="azimuth"/> (radians), without envelope: the roots k of χ(k) + atan(w/√(1−w²)) = nπ, n = 1, 2, ...,
    /// found in closed form from the quadratic in k². Zeros beyond the reach of χ (Cs turns it back) are left out.
    /// </summary>
    public double[] Zeros(int count, double azimuth = 0)
    {
        double lambda = Wavelength, cs = SphericalAberration * 1e7, defocus = Defocus(azimuth);
        double offset = PhaseShift * Math.PI / 180 + Math.Atan2(AmplitudeContrast, Math.Sqrt(1 - AmplitudeContrast * AmplitudeContrast));
        var zeros = new List<double>();
        for (int n = 0; zeros.Count < count && n < 100000; n++)
        {
            // a·u² − b·u + (nπ − offset) = 0 with u = k², a = (π/2)Cs λ³, b = πλΔf.
            double target = n * Math.PI - offset;
            if (target <= 0)
            {
                continue;
            }

            double a = 0.5 * Math.PI * cs * lambda * lambda * lambda, b = Math.PI * lambda * defocus;
            double u;
            if (a == 0)
            {
                u = target / b;
            }
            else
            {
                double discriminant = b * b - 4 * a * target;
                if (discriminant < 0)
                {
                    break;
                }

                u = (b - Math.Sqrt(discriminant)) / (2 * a);
            }

            zeros.Add(Math.Sqrt(u));
        }

        return zeros.ToArray();
    }

    public override string ToString()
        => $"CTF {DefocusU / 1e4:0.###}/{DefocusV / 1e4:0.###} µm at {DefocusAngle:0.#}°, {Voltage:0.#} kV, Cs {SphericalAberration:0.##} mm, " +
            $"w {AmplitudeContrast:0.###}{(PhaseShift != 0 ? $", phase {PhaseShift:0.#}°" : "")}{(BFactor != 0 ? $", B {BFactor:0.#} Å²" : "")}, " +
            $"{PixelSize:0.###} Å/px";

    private static void Check(bool ok, string name, string message)
    {
        if (!ok)
        {
            throw new ArgumentException(message, name);
        }
    }
}
