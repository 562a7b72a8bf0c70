# -Skip is evaluated at discovery, so Common.ps1 (which finds ../shared/data) is loaded then too.
BeforeDiscovery { . (Join-Path $PSScriptRoot 'Common.ps1') }

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    # Minimal float32 MRC reader (1024-byte header + nsymbt), enough for the shared ribosome maps.
    function Read-FloatMrc([string] $Path) {
        $b = [System.IO.File]::ReadAllBytes($Path)
        $n = [BitConverter]::ToInt32($b, 0)
        $off = 1024 + [BitConverter]::ToInt32($b, 92)
        $d = [double[]]::new($n * $n * $n)
        for ($i = 0; $i -lt $d.Length; $i++) { $d[$i] = [BitConverter]::ToSingle($b, $off + 4 * $i) }
        [CryoEmPS.Core.Volumes.Volume]::new($n, $d, 0, [System.IO.Path]::GetFileNameWithoutExtension($Path))
    }
    $script:V13 = [CryoEmPS.Core.Volumes.Phantom]::Create(13, 1, 2.0)
}

Describe 'Resize-EmVolume' {
    It 'downsamples the shared 65^3 ribosome to the shared 17^3 map to float32 precision' -Skip:(-not $script:HasSharedData) {
        $v = Read-FloatMrc (Join-Path $script:SharedData 'clean70SRibosome_vol_65p.mrc')
        $ref = Read-FloatMrc (Join-Path $script:SharedData 'clean70SRibosome_vol_17p.mrc')
        $r = $v | Resize-EmVolume -Size 17
        $r.Size | Should -Be 17
        $max = ($ref.Data | Measure-Object -Maximum).Maximum
        $worst = 0.0
        for ($i = 0; $i -lt $r.Data.Length; $i++) { $worst = [Math]::Max($worst, [Math]::Abs($r.Data[$i] - $ref.Data[$i])) }
        $worst | Should -BeLessThan (1e-6 * $max)
    }
    It 'preserves the mean and scales the voxel size by n/L' {
        $r = Resize-EmVolume -Volume $script:V13 -Size 8
        $r.Mean() | Should -BeGreaterThan ($script:V13.Mean() - 1e-12)
        $r.Mean() | Should -BeLessThan ($script:V13.Mean() + 1e-12)
        $r.VoxelSize | Should -Be (2.0 * 13 / 8)
    }
    It 'refuses a non-cubic volume with NonCubicVolume' {
        $flat = [CryoEmPS.Core.Volumes.Volume]::new(4, 8, 8, $null, 0, 'flat')
        { Resize-EmVolume -Volume $flat -Size 4 } | Should -Throw -ErrorId 'NonCubicVolume,CryoEmPS.Commands.ResizeEmVolumeCommand'
    }
}

Describe 'New-Micrograph' {
    It 'makes a seeded, repeatable micrograph with truth, noise variance and SNR' {
        $a = New-Micrograph -Volume $script:V13 -Size 200 -ParticleCount 30 -Snr 1 -Seed 4 -IncludeClean
        $b = New-Micrograph -Volume $script:V13 -Size 200 -ParticleCount 30 -Snr 1 -Seed 4
        $a | Should -BeOfType CryoEmPS.Core.Simulation.Micrograph
        $a.Size | Should -Be 200
        $a.Seed | Should -Be 4
        $a.Method | Should -Be 'Method2'
        $a.ParticleCount | Should -Be 30
        $a.Truth.ParticleSize | Should -Be 13
        [System.Linq.Enumerable]::SequenceEqual($a.Data, $b.Data) | Should -BeTrue
        $a.Clean.Length | Should -Be 40000
        $a.MeasuredSnr | Should -BeGreaterThan 0.9
        $a.MeasuredSnr | Should -BeLessThan 1.1
        $a.PixelSize | Should -Be 2.0
    }
    It 'draws and stores a seed when none is given' {
        $m = New-Micrograph -Volume $script:V13 -Size 60 -ParticleCount 1
        $m.Seed | Should -BeGreaterThan 0
    }
    It 'makes -Count micrographs with their own seeds' {
        $ms = @(New-Micrograph -Volume $script:V13 -Size 60 -ParticleCount 2 -Count 3 -Seed 10)
        $ms.Count | Should -Be 3
        $ms[0].Seed | Should -Be 10
        ($ms.Seed | Select-Object -Unique).Count | Should -Be 3
        $again = New-Micrograph -Volume $script:V13 -Size 60 -ParticleCount 2 -Seed $ms[2].Seed
        [System.Linq.Enumerable]::SequenceEqual($again.Data, $ms[2].Data) | Should -BeTrue
    }
    It 'warns and reports the real count when the micrograph jams' {
        $m = New-Micrograph -Volume $script:V13 -Size 100 -ParticleCount 500 -Seed 1 -WarningVariable w -WarningAction SilentlyContinue
        $m.ParticleCount | Should -BeLessThan 500
        $m.RequestedParticleCount | Should -Be 500
        ($w -join ' ') | Should -Match "Placed $($m.ParticleCount) of the 500"
    }
    It 'Method 1 downsamples the micrograph and scales pixel size' {
        $m = New-Micrograph -Volume $script:V13 -Size 50 -ParticleCount 3 -DownsampleTo 5 -Snr 0.5 -Seed 2
        $m.Method | Should -Be 'Method1'
        $m.Size | Should -Be 50
        $m.PixelSize | Should -Be (2.0 * 130 / 50)
        $m.Truth.ParticleSize | Should -Be 5
    }
    It 'refuses bad input with <Id>' -ForEach @(
        @{ Id = 'InvalidSnr' ; Params = @{ Size = 50; ParticleCount = 1; Snr = 0 } }
        @{ Id = 'InvalidSnr' ; Params = @{ Size = 50; ParticleCount = 1; Snr = [double]::NaN } }
        @{ Id = 'MicrographTooSmall' ; Params = @{ Size = 12; ParticleCount = 1 } }
        @{ Id = 'CountAndDensity' ; Params = @{ Size = 50; ParticleCount = 1; Density = 0.1 } }
        @{ Id = 'InvalidDensity' ; Params = @{ Size = 50; Density = -0.1 } }
        @{ Id = 'DownsampleTooLarge' ; Params = @{ Size = 50; ParticleCount = 1; DownsampleTo = 14 } }
        @{ Id = 'ParticleCountMissing' ; Params = @{ Size = 50 } }
    ) {
        $a = $Params
        { New-Micrograph -Volume $script:V13 @a -Seed 1 } | Should -Throw -ErrorId "$Id,CryoEmPS.Commands.NewMicrographCommand"
    }
    It 'refuses a non-cubic volume with NonCubicVolume' {
        $flat = [CryoEmPS.Core.Volumes.Volume]::new(4, 8, 8, $null, 0, 'flat')
        { New-Micrograph -Volume $flat -Size 50 -ParticleCount 1 } | Should -Throw -ErrorId 'NonCubicVolume*'
    }
}

Describe 'Get-PatchSet' {
    It 'collects all piped micrographs into one patch set with content' {
        $ms = New-Micrograph -Volume $script:V13 -Size 130 -Density 0.4 -Count 2 -Seed 3 -WarningAction SilentlyContinue
        $set = $ms | Get-PatchSet -PatchSize 13 -WarningAction SilentlyContinue
        @($set).Count | Should -Be 1
        $set.Count | Should -Be 200
        $set.MicrographCount | Should -Be 2
        $set.MultipleCount | Should -Be 0
        $set.ContentKnown | Should -BeTrue
        [double]::IsNaN($set.NoiseVariance) | Should -BeTrue -Because 'the two micrographs have their own noise variance'
    }
    It 'defaults the patch size to the truth particle size and warns about a cropped remainder' {
        $m = New-Micrograph -Volume $script:V13 -Size 60 -ParticleCount 2 -Seed 1
        $set = $m | Get-PatchSet -WarningVariable w -WarningAction SilentlyContinue
        $set.PatchSize | Should -Be 13
        $set.Count | Should -Be 16
        ($w -join ' ') | Should -Match 'cropped'
        $set.NoiseVariance | Should -Be $m.NoiseVariance
    }
    It 'refuses a patch larger than the micrograph with PatchSizeTooLarge' {
        $m = [CryoEmPS.Core.Simulation.Micrograph]::new(10, 10)
        { $m | Get-PatchSet -PatchSize 11 } | Should -Throw -ErrorId 'PatchSizeTooLarge,CryoEmPS.Commands.GetPatchSetCommand'
    }
}
