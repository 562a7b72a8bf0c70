namespace CryoEmPS.Core.Volumes;

/// <summary>
/// A 3-D density on a voxel grid, stored as one array in MRC data order [z, y, x] (x fastest).
/// The grid origin is index floor(n/2) on each axis. <see cref="VoxelSize"/> is in Å (0 = unknown).
/// </summary>
public sealed class Volume
{
    public Volume(int sizeZ, int sizeY, int sizeX, double[]? data = null, double voxelSize = 0, string? name = null)
    {
        if (sizeZ <= 0 || sizeY <= 0 || sizeX <= 0)
            throw new ArgumentOutOfRangeException(nameof(sizeX), $"Volume dimensions must be positive; got {sizeZ}x{sizeY}x{sizeX}.");
        long n = (long)sizeZ * sizeY * sizeX;
        if (n > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(sizeX), "Volume too large.");
        if (data != null && data.Length != n)
            throw new ArgumentException($"Data length {data.Length} does not match {sizeZ}x{sizeY}x{sizeX}.", nameof(data));
        if (!(voxelSize >= 0) || double.IsInfinity(voxelSize))
            throw new ArgumentOutOfRangeException(nameof(voxelSize), "Voxel size must be finite and ≥ 0 (0 = unknown).");
        SizeZ = sizeZ; SizeY = sizeY; SizeX = sizeX;
        Data = data ?? new double[n];
        VoxelSize = voxelSize;
        Name = name ?? "";
    }

    /// <summary>A cubic volume of side <paramref name="size"/>.</summary>
    public Volume(int size, double[]? data = null, double voxelSize = 0, string? name = null)
        : this(size, size, size, data, voxelSize, name) { }

    public int SizeZ { get; }
    public int SizeY { get; }
    public int SizeX { get; }
    /// <summary>Values in [z, y, x] order, x fastest.</summary>
    public double[] Data { get; }
    /// <summary>Voxel size in Å; 0 when unknown.</summary>
    public double VoxelSize { get; set; }
    public string Name { get; set; }
    /// <summary>Grid index of the first voxel along x, y, z (MRC nxstart/nystart/nzstart mapped to axes); 0 by default. Kept so a map read and written keeps its place in the unit cell.</summary>
    public int StartX { get; set; }
    public int StartY { get; set; }
    public int StartZ { get; set; }

    public bool IsCube => SizeZ == SizeY && SizeY == SizeX;
    /// <summary>The side length of a cubic volume (throws for a non-cubic one).</summary>
    public int Size => IsCube ? SizeX : throw new NonCubicVolumeException(this);
    public int Length => Data.Length;

    public double this[int z, int y, int x]
    {
        get => Data[((long)z * SizeY + y) * SizeX + x];
        set => Data[((long)z * SizeY + y) * SizeX + x] = value;
    }

    /// <summary>Throws <see cref="NonCubicVolumeException"/> unless the volume is a cube.</summary>
    public void RequireCube() { if (!IsCube) throw new NonCubicVolumeException(this); }

    public Volume Clone() => new(SizeZ, SizeY, SizeX, (double[])Data.Clone(), VoxelSize, Name) { StartX = StartX, StartY = StartY, StartZ = StartZ };

    public double Mean() { double s = 0; foreach (var v in Data) s += v; return s / Data.Length; }
    public double Min() { double m = double.PositiveInfinity; foreach (var v in Data) if (v < m) m = v; return m; }
    public double Max() { double m = double.NegativeInfinity; foreach (var v in Data) if (v > m) m = v; return m; }
    public double Norm() { double s = 0; foreach (var v in Data) s += v * v; return Math.Sqrt(s); }

    public override string ToString()
    {
        string dims = IsCube ? $"{SizeX}³" : $"{SizeZ}x{SizeY}x{SizeX} (z,y,x)";
        string vs = VoxelSize > 0 ? $", {VoxelSize:0.###} Å/voxel" : "";
        string nm = string.IsNullOrEmpty(Name) ? "" : $"{Name}: ";
        return $"{nm}Volume {dims}{vs}";
    }
}

/// <summary>A cubic volume was needed.</summary>
public sealed class NonCubicVolumeException : ArgumentException
{
    public NonCubicVolumeException(Volume v)
        : base($"This operation needs a cubic volume, but the volume is {v.SizeZ}x{v.SizeY}x{v.SizeX} (z,y,x). " +
               "Crop or pad it to a cube first (for example with Resize-EmVolume on a cubic map).") { }
}
