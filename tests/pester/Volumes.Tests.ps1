# New-EmVolume, New-RotationSet, Get-EmProjection against the built module.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    function New-PdbText([object[]] $Atoms) {
        # Each atom: @(element, x, y, z, resName)
        $i = 0
        ($Atoms | ForEach-Object {
            $i++
            'ATOM  {0,5} {1,-4} {2,3} A{3,4}    {4,8:0.000}{5,8:0.000}{6,8:0.000}{7,6:0.00}{8,6:0.00}          {9,2}' -f $i, " $($_[0])", $_[4], 1, $_[1], $_[2], $_[3], 1.0, 20.0, $_[0]
        }) -join "`n"
    }
}

Describe 'New-EmVolume -Phantom' {
    It 'is the same 17³ volume every time, named phantom, non-negative' {
        $a = New-EmVolume -Phantom
        $b = New-EmVolume -Phantom -Size 17
        $a.Size | Should -Be 17
        $a.Name | Should -Be 'phantom'
        $a.VoxelSize | Should -Be 0
        $a.Min() | Should -BeGreaterOrEqual 0
        [System.Linq.Enumerable]::SequenceEqual([double[]]$a.Data, [double[]]$b.Data) | Should -BeTrue
    }
    It 'changes with -Seed and carries -VoxelSize; odd and even sizes' -ForEach @(@{ L = 16 }, @{ L = 21 }) {
        $v = New-EmVolume -Phantom -Size $L -Seed 5 -VoxelSize 2.5
        $v.Size | Should -Be $L
        $v.VoxelSize | Should -Be 2.5
        $d = New-EmVolume -Phantom -Size $L
        [System.Linq.Enumerable]::SequenceEqual([double[]]$v.Data, [double[]]$d.Data) | Should -BeFalse
    }
    It 'rejects a size below 5' {
        { New-EmVolume -Phantom -Size 3 } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }
}

Describe 'New-EmVolume -AtomicModel' {
    It 'puts the centre of mass at floor(n/2) and Σ density = Σ Z' {
        $pdb = Join-Path $TestDrive 'two.pdb'
        Set-Content -LiteralPath $pdb -Value (New-PdbText @(@('O', 0, 0, 0, 'GLY'), @('C', 7, 0, 0, 'GLY')))
        $v = New-EmVolume -AtomicModel $pdb -Size 21 -VoxelSize 1
        $v.VoxelSize | Should -Be 1
        $sum = 0.0; foreach ($x in $v.Data) { $sum += $x }
        # Default resolution 3 Å gives σ = 0.68 voxel; sampling such a narrow Gaussian keeps its sum to ~0.1 %.
        $sum | Should -BeGreaterThan 13.95
        $sum | Should -BeLessThan 14.05
        $v[10, 10, 7] | Should -Be $v.Max()   # O 3 Å to the -x side of the centre of mass
        $w = New-EmVolume -LiteralPath $pdb -Size 21 -VoxelSize 1
        [System.Linq.Enumerable]::SequenceEqual([double[]]$v.Data, [double[]]$w.Data) | Should -BeTrue
    }
    It 'fails clearly on a PDB without atoms' {
        $pdb = Join-Path $TestDrive 'empty.pdb'
        Set-Content -LiteralPath $pdb -Value "HEADER    NOTHING`nEND"
        { New-EmVolume -AtomicModel $pdb -Size 17 -VoxelSize 1 } | Should -Throw -ErrorId 'PdbNoAtoms,CryoEmPS.Commands.NewEmVolumeCommand'
    }
    It 'fails on a missing file' {
        { New-EmVolume -LiteralPath (Join-Path $TestDrive 'nope.pdb') -Size 17 -VoxelSize 1 } | Should -Throw -ErrorId 'PdbFileNotFound*'
    }
    It 'warns when the model does not fit the box' {
        $pdb = Join-Path $TestDrive 'wide.pdb'
        Set-Content -LiteralPath $pdb -Value (New-PdbText @(@('C', -30, 0, 0, 'GLY'), @('C', 30, 0, 0, 'GLY')))
        $null = New-EmVolume -AtomicModel $pdb -Size 17 -VoxelSize 1 -WarningVariable wv -WarningAction SilentlyContinue
        $wv.Count | Should -Be 1
    }
    It 'reads the shared real models' -Skip:(-not $script:HasSharedData) {
        $v = New-EmVolume -LiteralPath (Join-Path $script:SharedData '4oz7.pdb') -Size 64 -VoxelSize 1 -ExcludeWater -WarningAction SilentlyContinue
        $v.Size | Should -Be 64
        $v.Max() | Should -BeGreaterThan 0
    }
}

Describe 'New-RotationSet' {
    It 'gives exactly K grid rotations' -ForEach @(@{ K = 3392 }, @{ K = 1376 }) {
        $s = New-RotationSet -Count $K
        $s.Count | Should -Be $K
        $s.RequestedCount | Should -Be $K
        $s.Kind | Should -Be 'Grid'
    }
    It 'stores a drawn seed and repeats with it' {
        $a = New-RotationSet -Random -Count 5
        $a.Seed | Should -Not -BeNullOrEmpty
        $b = New-RotationSet -Random -Count 5 -Seed $a.Seed
        $b.Rotations[4].Matrix[1, 2] | Should -Be $a.Rotations[4].Matrix[1, 2]
    }
    It 'builds rotations from RELION angles' {
        $s = New-RotationSet -EulerAngle @(10, 20, 30), @(0, 90, 0)
        $s.Count | Should -Be 2
        $e = $s.Rotations[0].ToEulerZyz()
        $e.Item1 | Should -BeGreaterThan 9.999999
        $e.Item2 | Should -BeGreaterThan 19.999999
        $e.Item3 | Should -BeLessThan 30.000001
        (New-RotationSet -EulerAngle (, @(1, 2, 3))).Count | Should -Be 1
    }
    It 'rejects a bad angle row' {
        { New-RotationSet -EulerAngle @(1, 2), @(3, 4) } | Should -Throw -ErrorId 'EulerAngleBadRow*'
    }
}

Describe 'Get-EmProjection' {
    It 'projects at each rotation, odd and even L' -ForEach @(@{ L = 17 }, @{ L = 16 }) {
        $v = New-EmVolume -Phantom -Size $L
        $rs = New-RotationSet -Random -Count 3 -Seed 2
        $st = Get-EmProjection -Volume $v -Rotation $rs
        $st.Count | Should -Be 3
        $st.SizeX | Should -Be $L
        $st.Rotations.Count | Should -Be 3
        # A projection sums to the sum of the volume.
        $sv = 0.0; foreach ($x in $v.Data) { $sv += $x }
        $si = 0.0; for ($i = 0; $i -lt $L * $L; $i++) { $si += $st.Data[$i] }
        [math]::Abs($si - $sv) / $sv | Should -BeLessThan 1e-4
    }
    It 'takes the volume from the pipeline and a single rotation' {
        $st = New-EmVolume -Phantom -Size 11 | Get-EmProjection -Rotation ([CryoEmPS.Core.Rotations.Rotation]::Identity)
        $st.Count | Should -Be 1
    }
    It 'shows a blob at +x rotated 90° about z at +y' {
        $v = [CryoEmPS.Core.Volumes.Volume]::new(17)
        $v[8, 8, 12] = 1.0
        $st = Get-EmProjection -Volume $v -Rotation (New-RotationSet -EulerAngle (, @(-90, 0, 0)))   # RELION rot = −90° is Rz(+90°)
        $img = $st.Data
        $max = [System.Linq.Enumerable]::Max([double[]]$img)
        $arg = [array]::IndexOf($img, $max)
        [math]::Floor($arg / 17) | Should -Be 12   # y = +4
        $arg % 17 | Should -Be 8                   # x = 0
    }
    It 'rejects a non-cubic volume' {
        $v = [CryoEmPS.Core.Volumes.Volume]::new(4, 5, 5)
        { Get-EmProjection -Volume $v -Rotation ([CryoEmPS.Core.Rotations.Rotation]::Identity) } | Should -Throw -ErrorId 'VolumeNotCubic,CryoEmPS.Commands.GetEmProjectionCommand'
    }
}
