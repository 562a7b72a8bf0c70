using System.Management.Automation;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Simulation;

namespace CryoEmPS.Commands;

/// <summary>
/// Import-Micrograph: reads a 2-D MRC micrograph (nz = 1) or a stack of micrographs (one Micrograph per
/// section). Restores NoiseVariance and Seed written by Export-Micrograph; -NoiseVariance overrides.
/// </summary>
[Cmdlet(VerbsData.Import, "Micrograph", DefaultParameterSetName = "Path")]
[OutputType(typeof(Micrograph))]
public sealed class ImportMicrographCommand : ImportMrcCmdletBase
{
    /// <summary>σ² of the white noise, overriding the value stored in the file.</summary>
    [Parameter]
    [ValidateRange(0.0, double.MaxValue)]
    public double? NoiseVariance { get; set; }

    protected override void Import(string file)
    {
        if (!TryReadMrc(file, MrcReader.ReadMicrographs, out var micrographs))
        {
            return;
        }
        WarnIfNonCubicVoxel(file, checkZ: false);
        for (int i = 0; i < micrographs.Length; i++)
        {
            var micrograph = micrographs[i];
            micrograph.FilePath = micrographs.Length == 1 ? file : $"{i + 1}@{file}";
            if (NoiseVariance.HasValue)
            {
                micrograph.NoiseVariance = NoiseVariance.Value;
            }
            else if (double.IsNaN(micrograph.NoiseVariance))
            {
                WriteVerbose($"'{micrograph.Name}': the file does not record the noise variance; give -NoiseVariance for Invoke-ApproxEm.");
            }
            WriteObject(micrograph);
        }
    }
}
