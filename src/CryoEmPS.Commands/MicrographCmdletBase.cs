using System.Management.Automation;
using CryoEmPS.Core.Projection;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Commands;

/// <summary>The noise-spectrum measurement shared by Measure-NoiseSpectrum and Edit-Micrograph (progress, per-item errors).</summary>
public abstract class MicrographCmdletBase : CryoEmCmdlet
{
    private const string Activity = "Measure-NoiseSpectrum";

    /// <summary>
    /// Runs <paramref name="estimator"/> on <paramref name="micrograph"/> (only on its <paramref name="background"/> pixels when
    /// given) with progress; writes a non-terminating error and
    /// returns null when the micrograph cannot be measured (ErrorIds NoiseSpectrumShellCountInvalid, NoiseSpectrumNotMeasurable).
    /// </summary>
    protected NoiseSpectrum? Measure(NoiseSpectrumEstimator estimator, Micrograph micrograph, bool[]? background = null)
    {
        try
        {
            return RunPumped<double, NoiseSpectrum>(
                (progress, token) => estimator.Estimate(micrograph.Data, micrograph.SizeY, micrograph.SizeX, background,
                    micrograph.PixelSize, progress, token),
                fraction => Progress(3, Activity, $"'{micrograph.Name}': tile periodograms", (int)(100 * fraction)));
        }
        catch (ArgumentOutOfRangeException ex)
        {
            MicrographProcessing.WriteItemError(this, FirstLine(ex), "NoiseSpectrumShellCountInvalid", ErrorCategory.InvalidArgument,
                micrograph);
        }
        catch (ArgumentException ex)
        {
            MicrographProcessing.WriteItemError(this, FirstLine(ex), "NoiseSpectrumNotMeasurable", ErrorCategory.InvalidData, micrograph);
        }
        finally
        {
            ProgressCompleted(3, Activity);
        }

        return null;
    }

    /// <summary>An argument exception's message without the " (Parameter 'x')" suffix and the actual value line.</summary>
    protected static string FirstLine(ArgumentException ex) => ex.Message.Split(" (Parameter")[0].Split('\n')[0].TrimEnd();
}
