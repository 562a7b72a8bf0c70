using System.Management.Automation;
using CryoEmPS.Core.IO;
using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Commands;

/// <summary>Import-EmVolume: reads MRC2014/CCP4 maps into Volume objects ([z, y, x] order, any axis order in the file).</summary>
[Cmdlet(VerbsData.Import, "EmVolume", DefaultParameterSetName = "Path")]
[OutputType(typeof(Volume))]
public sealed class ImportEmVolumeCommand : ImportMrcCmdletBase
{
    protected override void Import(string file)
    {
        if (!TryReadMrc(file, MrcReader.ReadVolume, out var volume))
        {
            return;
        }
        WarnIfNonCubicVoxel(file, checkZ: true);
        WriteVerbose($"{volume}: voxel size {volume.VoxelSize} Å, start ({volume.StartX}, {volume.StartY}, {volume.StartZ}).");
        WriteObject(volume);
    }
}
