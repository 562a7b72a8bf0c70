using CryoEmPS.Core.Volumes;

namespace CryoEmPS.Commands;

/// <summary>Checks on input objects shared by several cmdlets (the caller turns a message into a terminating error).</summary>
internal static class InputChecks
{
    /// <summary>
    /// Null when every voxel is finite; otherwise a message naming the first NaN/infinite voxel, what is
    /// expected and how to fix it (ErrorId <c>VolumeNotFinite</c> at the call sites).
    /// </summary>
    public static string? NonFiniteVoxel(Volume volume, string role)
    {
        var data = volume.Data;
        for (int i = 0; i < data.Length; i++)
        {
            if (double.IsFinite(data[i]))
            {
                continue;
            }
            int plane = volume.SizeY * volume.SizeX;
            int z = i / plane;
            int y = i % plane / volume.SizeX;
            int x = i % volume.SizeX;
            return $"The {role} '{volume.Name}' has the value {data[i]} at [z={z}, y={y}, x={x}]; every voxel must be a finite number. " +
                   "Replace the NaN/infinite voxels first (for example set them to 0), or check how the map was made.";
        }
        return null;
    }
}
