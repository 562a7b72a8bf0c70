# MRC / STAR import and export cmdlets.
BeforeDiscovery {
    # -Skip:(-not $script:HasSharedData) is evaluated at discovery.
    . (Join-Path $PSScriptRoot 'Common.ps1')
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')

    function New-TestVolume([int] $Z = 4, [int] $Y = 5, [int] $X = 6, [double] $VoxelSize = 1.5) {
        $n = $Z * $Y * $X
        $data = [double[]]::new($n)
        for ($i = 0; $i -lt $n; $i++) { $data[$i] = [double][float](($i * 37 % 101) / 7.0 - 3) }
        [CryoEmPS.Core.Volumes.Volume]::new($Z, $Y, $X, $data, $VoxelSize, 'test')
    }

    function New-TestMicrograph([int] $Size = 32, [int] $L = 9) {
        $data = [double[]]::new($Size * $Size)
        for ($i = 0; $i -lt $data.Length; $i++) { $data[$i] = [double][float](($i % 13) / 3.0) }
        $m = [CryoEmPS.Core.Simulation.Micrograph]::new($Size, $Size, $data, 1.34, 'sim')
        $m.NoiseVariance = 0.3183098861837907
        $m.Seed = 12345
        $p = [System.Collections.Generic.List[CryoEmPS.Core.Simulation.ParticleTruth]]::new()
        $p.Add([CryoEmPS.Core.Simulation.ParticleTruth]::new(2, 3, [CryoEmPS.Core.Rotations.Rotation]::FromEulerZyz(10, 20, 30), -1))
        $p.Add([CryoEmPS.Core.Simulation.ParticleTruth]::new(20, 15, [CryoEmPS.Core.Rotations.Rotation]::Identity, -1))
        $m.Truth = [CryoEmPS.Core.Simulation.MicrographTruth]::new($p, $L, 'vol')
        $m
    }

    # A minimal little-endian mode-2 MRC header + data, built independently of the module.
    function New-MrcBytes([int] $Nx, [int] $Ny, [int] $Nz, [int] $Mode = 2, [int] $DataBytes = -1) {
        $h = [byte[]]::new(1024)
        $w = { param($word, $v) [BitConverter]::GetBytes([int]$v).CopyTo($h, 4 * $word) }
        & $w 0 $Nx; & $w 1 $Ny; & $w 2 $Nz; & $w 3 $Mode; & $w 16 1; & $w 17 2; & $w 18 3
        [Text.Encoding]::ASCII.GetBytes('MAP ').CopyTo($h, 208); $h[212] = 0x44; $h[213] = 0x44
        if ($DataBytes -lt 0) { $DataBytes = 4 * $Nx * $Ny * $Nz }
        $h + [byte[]]::new($DataBytes)
    }
}

Describe 'Import-EmVolume' {
    It 'reads iota_yzx.ccp4 in [z,y,x] order' -Skip:(-not $script:HasSharedData) {
        $v = Import-EmVolume -Path (Join-Path $script:SharedData 'iota_yzx.ccp4')
        $v.SizeZ, $v.SizeY, $v.SizeX | Should -Be 2, 1, 4
        0..3 | ForEach-Object { $v.Item(0, 0, $_) } | Should -Be 60, 102, 144, 186
    }
    It 'reads 5i55_tiny.ccp4 (axis order 2,1,3) with its starts' -Skip:(-not $script:HasSharedData) {
        $v = Import-EmVolume -LiteralPath (Join-Path $script:SharedData '5i55_tiny.ccp4')
        $v.SizeZ, $v.SizeY, $v.SizeX | Should -Be 10, 8, 6
        $v.StartX, $v.StartY, $v.StartZ | Should -Be -8, 50, 40
    }
    It 'matches the README statistics of the 65³ ribosome' -Skip:(-not $script:HasSharedData) {
        $v = Import-EmVolume (Join-Path $script:SharedData 'clean70SRibosome_vol_65p.mrc')
        $v.Size | Should -Be 65
        $v.Min() | Should -BeLessThan -4.39945e-4
        $v.Min() | Should -BeGreaterThan -4.39955e-4
        $v.Max() | Should -BeGreaterThan 7.38785e-4
        $v.Max() | Should -BeLessThan 7.38795e-4
        [math]::Abs($v.Mean() - 1.62588e-6) | Should -BeLessThan 1e-11
    }
    It 'accepts many files from Get-ChildItem and wildcards' -Skip:(-not $script:HasSharedData) {
        $byPipe = @(Get-ChildItem -Path (Join-Path $script:SharedData 'clean70SRibosome_vol_*.mrc') | Import-EmVolume)
        $byPipe.Count | Should -Be 3
        ($byPipe.Size | Sort-Object) | Should -Be 11, 17, 65
        @(Import-EmVolume -Path (Join-Path $script:SharedData 'clean70SRibosome_vol_1*.mrc')).Count | Should -Be 2
    }
    It 'fails with MrcFileNotFound for a missing file' {
        { Import-EmVolume -Path (Join-Path $TestDrive 'missing.mrc') } | Should -Throw -ErrorId 'MrcFileNotFound,CryoEmPS.Commands.ImportEmVolumeCommand'
        { Import-EmVolume -Path (Join-Path $TestDrive 'nothing*.mrc') } | Should -Throw -ErrorId 'MrcFileNotFound*'
    }
    It 'fails with <Id> for <Case>' -ForEach @(
        @{ Case = 'a file shorter than the header'; Id = 'MrcTruncated'; Bytes = { [byte[]]::new(100) } }
        @{ Case = 'data cut short'; Id = 'MrcTruncated'; Bytes = { New-MrcBytes 4 4 4 -DataBytes 200 } }
        @{ Case = '2^31 voxels claimed in a 2 KB file'; Id = 'MrcInvalidDimensions'; Bytes = { New-MrcBytes 2048 1024 1024 -DataBytes 1000 } }
        @{ Case = '1.7e9 voxels claimed in a 2 KB file'; Id = 'MrcTruncated'; Bytes = { New-MrcBytes 1200 1200 1200 -DataBytes 1000 } }
        @{ Case = 'zero dimensions'; Id = 'MrcInvalidDimensions'; Bytes = { New-MrcBytes 0 4 4 -DataBytes 0 } }
        @{ Case = 'mode 4 (complex)'; Id = 'MrcUnsupportedMode'; Bytes = { New-MrcBytes 2 2 2 -Mode 4 -DataBytes 64 } }
        @{ Case = 'a text file'; Id = 'MrcInvalidHeader'; Bytes = { [Text.Encoding]::ASCII.GetBytes(('not a map at all ' * 100)) } }
        @{ Case = 'trailing bytes'; Id = 'MrcDataSizeMismatch'; Bytes = { New-MrcBytes 2 2 2 -DataBytes 40 } }
        @{ Case = 'an extended header past the end'; Id = 'MrcExtendedHeaderPastEnd'; Bytes = { $b = New-MrcBytes 2 2 2; [BitConverter]::GetBytes([int]100000).CopyTo($b, 92); $b } }
    ) {
        $p = Join-Path $TestDrive 'bad.mrc'
        [IO.File]::WriteAllBytes($p, [byte[]](& $Bytes))
        { Import-EmVolume -LiteralPath $p } | Should -Throw -ErrorId "$Id,CryoEmPS.Commands.ImportEmVolumeCommand"
    }
}

Describe 'Export-EmVolume' {
    BeforeEach { $script:Vol = New-TestVolume }
    It 'round-trips bit-exactly with voxel size and starts' {
        $p = Join-Path $TestDrive 'v.mrc'
        $script:Vol.StartX = 7
        $script:Vol | Export-EmVolume -Path $p -Force
        $back = Import-EmVolume -LiteralPath $p
        $back.SizeZ, $back.SizeY, $back.SizeX | Should -Be 4, 5, 6
        $back.VoxelSize | Should -Be 1.5
        $back.StartX | Should -Be 7
        [System.Linq.Enumerable]::SequenceEqual($back.Data, $script:Vol.Data) | Should -BeTrue
    }
    It 'writes the MRC2014 header fields' {
        $p = Join-Path $TestDrive 'h.mrc'
        Export-EmVolume -Volume $script:Vol -LiteralPath $p -Force
        $b = [IO.File]::ReadAllBytes($p)
        $b.Length | Should -Be (1024 + 4 * 120)
        [Text.Encoding]::ASCII.GetString($b, 208, 4) | Should -Be 'MAP '
        $b[212], $b[213] | Should -Be 0x44, 0x44
        [BitConverter]::ToInt32($b, 108) | Should -Be 20140
        [BitConverter]::ToInt32($b, 88) | Should -Be 1
        [BitConverter]::ToSingle($b, 40) | Should -Be ([float]9.0)   # cell x = 1.5 × 6
        [Text.Encoding]::ASCII.GetString($b, 224, 80) | Should -Match '^CryoEmPS \d'
    }
    It 'emits a FileInfo with -PassThru' {
        $f = $script:Vol | Export-EmVolume -Path (Join-Path $TestDrive 'p.mrc') -PassThru -Force
        $f | Should -BeOfType System.IO.FileInfo
        $f.Length | Should -Be (1024 + 480)
    }
    It 'writes nothing with -WhatIf' {
        $p = Join-Path $TestDrive 'whatif.mrc'
        $script:Vol | Export-EmVolume -Path $p -WhatIf
        Test-Path $p | Should -BeFalse
    }
    It 'refuses to overwrite without -Force and leaves the file unchanged' {
        $p = Join-Path $TestDrive 'keep.mrc'
        [IO.File]::WriteAllBytes($p, [byte[]](1, 2, 3))
        { $script:Vol | Export-EmVolume -Path $p } | Should -Throw -ErrorId 'MrcFileAlreadyExists,CryoEmPS.Commands.ExportEmVolumeCommand'
        [IO.File]::ReadAllBytes($p) | Should -Be 1, 2, 3
    }
    It 'fails on NaN without damaging an existing file, even with -Force' {
        $p = Join-Path $TestDrive 'nan.mrc'
        [IO.File]::WriteAllBytes($p, [byte[]](9, 8, 7))
        $script:Vol.Data[5] = [double]::NaN
        { $script:Vol | Export-EmVolume -Path $p -Force } | Should -Throw -ErrorId 'MrcInvalidData,CryoEmPS.Commands.ExportEmVolumeCommand'
        [IO.File]::ReadAllBytes($p) | Should -Be 9, 8, 7
        @(Get-ChildItem -Force -LiteralPath $TestDrive -Filter '.nan.mrc*').Count | Should -Be 0
    }
    It 'fails with MrcFileFolderNotFound when the folder is missing' {
        { $script:Vol | Export-EmVolume -Path (Join-Path $TestDrive 'no/such/dir/v.mrc') } | Should -Throw -ErrorId 'MrcFileFolderNotFound*'
    }
}

Describe 'Import-EmImageStack / Export-EmImageStack' {
    It 'reads RELION stacks as 5 images despite ispg = 1' -Skip:(-not $script:HasSharedData) -ForEach @(@{ F = 'rln_proj_64.mrcs'; L = 64 }, @{ F = 'rln_proj_65.mrcs'; L = 65 }) {
        $s = Import-EmImageStack -Path (Join-Path $script:SharedData $F)
        $s | Should -BeOfType CryoEmPS.Core.Projection.ImageStack
        $s.Count, $s.SizeY, $s.SizeX | Should -Be 5, $L, $L
    }
    It 'round-trips a stack with ispg 0' {
        $data = [double[]]::new(3 * 4 * 5); for ($i = 0; $i -lt $data.Length; $i++) { $data[$i] = $i - 17.5 }
        $s = [CryoEmPS.Core.Projection.ImageStack]::new(3, 4, 5, $data, 2.5, 's')
        $p = Join-Path $TestDrive 's.mrcs'
        $s | Export-EmImageStack -Path $p
        [BitConverter]::ToInt32([IO.File]::ReadAllBytes($p), 88) | Should -Be 0
        $back = Import-EmImageStack $p
        $back.Count | Should -Be 3
        $back.PixelSize | Should -Be 2.5
        [System.Linq.Enumerable]::SequenceEqual($back.Data, $data) | Should -BeTrue
        { $s | Export-EmImageStack -Path $p } | Should -Throw -ErrorId 'MrcFileAlreadyExists*'
    }
}

Describe 'Export-Micrograph / Import-Micrograph' {
    It 'restores NoiseVariance, Seed and PixelSize' {
        $m = New-TestMicrograph
        $p = Join-Path $TestDrive 'm.mrc'
        $m | Export-Micrograph -Path $p
        $back = Import-Micrograph -Path $p
        $back.NoiseVariance | Should -Be $m.NoiseVariance
        $back.Seed | Should -Be 12345
        $back.PixelSize | Should -Be 1.34
        [System.Linq.Enumerable]::SequenceEqual($back.Data, $m.Data) | Should -BeTrue
    }
    It '-NoiseVariance overrides the stored value' {
        $p = Join-Path $TestDrive 'm2.mrc'
        New-TestMicrograph | Export-Micrograph -Path $p
        (Import-Micrograph -Path $p -NoiseVariance 2).NoiseVariance | Should -Be 2
    }
    It 'writes piped micrographs as a stack, one Micrograph per section' {
        $p = Join-Path $TestDrive 'stack.mrcs'
        $a = New-TestMicrograph; $b = New-TestMicrograph; $b.NoiseVariance = 5; $b.Seed = 7
        $a, $b | Export-Micrograph -Path $p
        $back = @(Import-Micrograph -LiteralPath $p)
        $back.Count | Should -Be 2
        $back[1].NoiseVariance | Should -Be 5
        $back[1].Seed | Should -Be 7
    }
    It 'reads a RELION stack as five micrographs with unknown noise' -Skip:(-not $script:HasSharedData) {
        $m = @(Import-Micrograph (Join-Path $script:SharedData 'rln_proj_64.mrcs'))
        $m.Count | Should -Be 5
        [double]::IsNaN($m[0].NoiseVariance) | Should -BeTrue
    }
    It 'refuses micrographs of different sizes in one file' {
        $a = New-TestMicrograph -Size 32; $b = New-TestMicrograph -Size 16
        { $a, $b | Export-Micrograph -Path (Join-Path $TestDrive 'mixed.mrcs') } | Should -Throw -ErrorId 'MicrographSizeMismatch*'
    }
    It 'writes nothing with -WhatIf' {
        New-TestMicrograph | Export-Micrograph -Path (Join-Path $TestDrive 'w.mrc') -WhatIf
        Test-Path (Join-Path $TestDrive 'w.mrc') | Should -BeFalse
    }
}

Describe 'Export-ParticleCoordinate' {
    It 'writes particle centres (corner + floor(L/2)) and angles in a RELION STAR file' {
        $p = Join-Path $TestDrive 'parts.star'
        New-TestMicrograph -L 9 | Export-ParticleCoordinate -Path $p -MicrographName 'sim.mrc'
        $blocks = [CryoEmPS.Core.IO.StarFile]::Read($p)
        $blocks.Name | Should -Be 'optics', 'particles'    # RELION 3.1+ layout
        $blocks[0].Column('rlnMicrographPixelSize') | Should -Be '1.34'
        $blocks[0].Column('rlnImageSize') | Should -Be '9'
        $particles = $blocks[1]
        $particles.ColumnAsDouble('rlnCoordinateX') | Should -Be 7, 19    # columns 3, 15 + 4
        $particles.ColumnAsDouble('rlnCoordinateY') | Should -Be 6, 24    # rows 2, 20 + 4
        $rot = $particles.ColumnAsDouble('rlnAngleRot')[0]
        [math]::Abs($rot - 10) | Should -BeLessThan 1e-9
        $particles.Column('rlnMicrographName') | Should -Be 'sim.mrc', 'sim.mrc'
        $particles.Column('rlnOpticsGroup') | Should -Be '1', '1'
        (Get-Content -Raw $p) | Should -Match 'loop_'
    }
    It 'names the micrograph file Export-Micrograph wrote, relative to the STAR file' {
        $m = New-TestMicrograph -L 9
        New-Item -ItemType Directory (Join-Path $TestDrive 'Micrographs') -Force | Out-Null
        $m | Export-Micrograph -Path (Join-Path $TestDrive 'Micrographs/mic007.mrc') -Force
        $m.FilePath | Should -Be (Join-Path $TestDrive 'Micrographs/mic007.mrc')
        $p = Join-Path $TestDrive 'named.star'
        $m | Export-ParticleCoordinate -Path $p
        (Import-StarFile $p -Block particles -AsObject).rlnMicrographName | Should -Be 'Micrographs/mic007.mrc', 'Micrographs/mic007.mrc'
        $again = Import-Micrograph (Join-Path $TestDrive 'Micrographs/mic007.mrc')
        $again.FilePath | Should -Be (Join-Path $TestDrive 'Micrographs/mic007.mrc')
    }
    It 'warns and falls back to the name when the micrograph was never written' {
        $p = Join-Path $TestDrive 'unnamed.star'
        New-TestMicrograph | Export-ParticleCoordinate -Path $p -WarningVariable w -WarningAction SilentlyContinue
        "$w" | Should -Match 'was not written'
        (Import-StarFile $p -Block particles -AsObject)[0].rlnMicrographName | Should -Be 'sim.mrc'
    }
    It 'writes one coordinate file per micrograph and their list with -PerMicrograph' {
        $m = New-TestMicrograph -L 9
        $m | Export-Micrograph -Path (Join-Path $TestDrive 'mic042.mrc') -Force
        $dir = Join-Path $TestDrive 'coords'
        New-Item -ItemType Directory $dir | Out-Null
        $files = $m | Export-ParticleCoordinate -Path $dir -PerMicrograph -Suffix manualpick -PassThru
        $files.Name | Should -Be 'mic042_manualpick.star', 'coordinate_files_manualpick.star'
        $rows = Import-StarFile (Join-Path $dir 'mic042_manualpick.star') -AsObject
        $rows.rlnCoordinateX | Should -Be 7, 19
        $list = Import-StarFile (Join-Path $dir 'coordinate_files_manualpick.star') -AsObject
        $list.rlnMicrographName | Should -Be '../mic042.mrc'
        $list.rlnMicrographCoordinates | Should -Be 'mic042_manualpick.star'
        { $m | Export-ParticleCoordinate -Path (Join-Path $TestDrive 'nope') -PerMicrograph } | Should -Throw -ErrorId 'StarFileFolderNotFound*'
    }
    It 'fails with MicrographHasNoTruth for a micrograph that was not simulated' {
        $m = [CryoEmPS.Core.Simulation.Micrograph]::new(8, 8, $null, 0, 'real')
        { $m | Export-ParticleCoordinate -Path (Join-Path $TestDrive 'x.star') } | Should -Throw -ErrorId 'MicrographHasNoTruth,CryoEmPS.Commands.ExportParticleCoordinateCommand'
        Test-Path (Join-Path $TestDrive 'x.star') | Should -BeFalse
    }
    It 'refuses to overwrite without -Force' {
        $p = Join-Path $TestDrive 'exists.star'
        Set-Content -LiteralPath $p -Value 'keep'
        { New-TestMicrograph | Export-ParticleCoordinate -Path $p } | Should -Throw -ErrorId 'StarFileAlreadyExists*'
        Get-Content -LiteralPath $p | Should -Be 'keep'
    }
}
