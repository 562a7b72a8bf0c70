using CryoEmPS.Core.Simulation;
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

    /// <summary>
    /// Null when every pixel is finite and at most float32's largest value (what an MRC file holds; larger values overflow the
    /// EM's likelihood); otherwise a message naming the first bad pixel (ErrorId <c>MicrographNotFinite</c>).
    /// </summary>
    public static string? NonFinitePixel(Micrograph micrograph)
    {
        var data = micrograph.Data;
        for (int i = 0; i < data.Length; i++)
        {
            if (Math.Abs(data[i]) <= float.MaxValue)
            {
                continue;
            }
            int y = i / micrograph.SizeX;
            int x = i % micrograph.SizeX;
            return $"The micrograph '{micrograph.Name}' has the value {data[i]} at [y={y}, x={x}]; " +
                   "every pixel must be a finite number of " +
                   $"size at most {float.MaxValue:g3} (the float32 range of an MRC file), or the EM's likelihood overflows. " +
                   "Replace the bad pixels first (for example with the micrograph's mean), or check how the file was made.";
        }
        return null;
    }

    /// <summary>
    /// Null when every coefficient is finite; otherwise a message naming the first bad one (ErrorId <c>VolumeNotFinite</c>).
    /// </summary>
    public static string? NonFiniteCoefficient(FourierBesselVolume volume, string role)
    {
        var data = volume.Coefficients;
        for (int i = 0; i < data.Length; i++)
        {
            if (!double.IsFinite(data[i]))
            {
                return $"The {role} '{volume.Name}' has the value {data[i]} at Fourier–Bessel coefficient {i}; every coefficient must be " +
                       "a finite number. Make it again (ConvertTo-FourierBessel of a finite volume), or check how it was made.";
            }
        }
        return null;
    }
}
