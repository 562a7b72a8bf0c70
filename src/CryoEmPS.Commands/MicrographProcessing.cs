using System.Globalization;
using System.Management.Automation;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Commands;

/// <summary>Shared plumbing of the preprocessing cmdlets (Resize-Micrograph, Measure-NoiseSpectrum, Edit-Micrograph).</summary>
internal static class MicrographProcessing
{
    /// <summary>A value as a step parameter: invariant culture, round-trip for doubles; "" for a switch.</summary>
    public static string Text(object? value) => value switch
    {
        null => "",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>A step of <paramref name="operation"/> with (name, value) parameters in the order given.</summary>
    public static MicrographStep Step(string operation, params (string Name, object? Value)[] parameters)
    {
        var dictionary = new Dictionary<string, string>();
        foreach (var (name, value) in parameters)
        {
            dictionary[name] = Text(value);
        }

        return new MicrographStep(operation, dictionary);
    }

    /// <summary>
    /// Null when <paramref name="spectrum"/> may be used on <paramref name="micrograph"/> (either pixel size unknown, or equal
    /// within 1e-6 relative); otherwise the message of ErrorId <c>NoiseSpectrumPixelSizeMismatch</c>.
    /// </summary>
    public static string? PixelSizeMismatch(NoiseSpectrum spectrum, Micrograph micrograph)
    {
        double a = spectrum.PixelSize, b = micrograph.PixelSize;
        if (!(a > 0) || !(b > 0) || Math.Abs(a - b) <= 1e-6 * b)
        {
            return null;
        }

        return $"The noise spectrum was measured at {a:0.####} Å/px but the micrograph '{micrograph.Name}' has {b:0.####} Å/px; its " +
               "frequencies would be misread. Measure the spectrum on this micrograph (Measure-NoiseSpectrum), or resize the " +
               "micrograph first.";
    }

    /// <summary>Writes a non-terminating error for one micrograph of a batch, so the others go on.</summary>
    public static void WriteItemError(Cmdlet cmdlet, string message, string errorId, ErrorCategory category, object target)
        => cmdlet.WriteError(new ErrorRecord(new ArgumentException(message), errorId, category, target));
}
