namespace CryoEmPS.Core.Projection;

/// <summary>
/// The EM's filter per micrograph from the micrographs' CTFs, whitening spectra and signal scales, with RELION-style defocus
/// groups: micrographs with the same optics whose mean defocus lies within a tolerance of the group's first (in ascending
/// defocus) share one filter, whose defocus U and V are the group's means, whose astigmatism angle is that of the member
/// nearest the group's mean defocus, and whose whitening spectrum and signal scale are the members' means (each micrograph's
/// own are estimates, never exactly equal). Fewer groups cost less in the E-step (one filtered projection per rotation
/// and group) and the M-step (one Gram matrix per rotation and group); the price is a CTF that is slightly off for each
/// member. Tolerance 0 groups only identical CTFs.
/// </summary>
public static class DefocusGrouping
{
    /// <summary>
    /// One filter per micrograph (null entries: the identity) for L×L patches of <paramref name="pixelSize"/> Å/px, each
    /// filter with a box margin of <paramref name="margin"/> pixels.
    /// </summary>
    public static IImageFilter[] Filters(IReadOnlyList<Ctf?> ctfs, IReadOnlyList<NoiseSpectrum?> whitenings, int micrographCount,
        double pixelSize, int margin, double tolerance, IReadOnlyList<double>? scales = null)
    {
        if (!(tolerance >= 0) || double.IsInfinity(tolerance))
        {
            throw new ArgumentOutOfRangeException(nameof(tolerance), tolerance, "The defocus group tolerance must be 0 or more Å.");
        }

        var filters = new IImageFilter[micrographCount];
        var assigned = new bool[micrographCount];
        Ctf? CtfOf(int i) => i < ctfs.Count ? ctfs[i] : null;
        NoiseSpectrum? WhiteningOf(int i) => i < whitenings.Count ? whitenings[i] : null;
        double ScaleOf(int i) => scales != null && i < scales.Count ? scales[i] : 1;
        var order = Enumerable.Range(0, micrographCount).OrderBy(i => CtfOf(i)?.DefocusMean ?? 0).ThenBy(i => i).ToArray();
        foreach (int first in order)
        {
            if (assigned[first])
            {
                continue;
            }

            var ctf = CtfOf(first);
            var whitening = WhiteningOf(first);
            double scale = ScaleOf(first);
            // Tolerance 0: only equal filters share a group. Otherwise each micrograph's own whitening spectrum and signal scale
            // (estimated per micrograph, so never exactly equal) give way to the group's means, like its defocus.
            bool exact = tolerance == 0;
            var members = order.Where(i => !assigned[i] && SameOptics(CtfOf(i), ctf)
                && (exact ? Equals(WhiteningOf(i), whitening) && ScaleOf(i) == scale : Compatible(WhiteningOf(i), whitening))
                && (ctf == null || CtfOf(i)!.DefocusMean - ctf.DefocusMean <= tolerance)).ToArray();
            if (!exact && members.Length > 1)
            {
                whitening = whitening == null ? null : MeanSpectrum(members.Select(i => WhiteningOf(i)!).ToArray());
                scale = members.Average(ScaleOf);
            }

            // A scale alone does not spread the signal: no margin then.
            IImageFilter filter = ctf == null && whitening == null && scale == 1
                ? IdentityFilter.Instance
                : new MicrographFilter(ctf == null ? null : Representative(members.Select(i => CtfOf(i)!).ToArray()), whitening,
                    pixelSize, ctf == null && whitening == null ? 0 : margin, scale);
            foreach (int member in members)
            {
                filters[member] = filter;
                assigned[member] = true;
            }
        }

        return filters;
    }

    /// <summary>The group's CTF: mean U and V, the astigmatism angle of the member nearest the mean defocus, the shared optics.</summary>
    public static Ctf Representative(IReadOnlyList<Ctf> members)
    {
        if (members.Count == 1)
        {
            return members[0];
        }

        double u = members.Average(ctf => ctf.DefocusU), v = members.Average(ctf => ctf.DefocusV), mean = 0.5 * (u + v);
        var nearest = members.OrderBy(ctf => Math.Abs(ctf.DefocusMean - mean)).First();
        return new Ctf(u, v, nearest.DefocusAngle, nearest.Voltage, nearest.SphericalAberration, nearest.AmplitudeContrast,
            nearest.PixelSize, nearest.PhaseShift, nearest.BFactor);
    }

    /// <summary>Spectra that can be averaged: both absent, or both present with the same sampling and pixel size.</summary>
    private static bool Compatible(NoiseSpectrum? a, NoiseSpectrum? b)
        => a == null || b == null ? a == null && b == null : a.Count == b.Count && a.PixelSize == b.PixelSize;

    /// <summary>The sample-by-sample mean of spectra of one sampling.</summary>
    private static NoiseSpectrum MeanSpectrum(IReadOnlyList<NoiseSpectrum> spectra)
        => new(Enumerable.Range(0, spectra[0].Count).Select(i => spectra.Average(spectrum => spectrum.Power[i])).ToArray(),
            spectra[0].PixelSize, "group mean");

    private static bool SameOptics(Ctf? a, Ctf? b)
        => a == null || b == null
            ? a == null && b == null
            : a.Voltage == b.Voltage && a.SphericalAberration == b.SphericalAberration && a.AmplitudeContrast == b.AmplitudeContrast
                && a.PhaseShift == b.PhaseShift && a.BFactor == b.BFactor && a.PixelSize == b.PixelSize;
}
