# Resize-Micrograph, Measure-NoiseSpectrum and Edit-Micrograph (issue 12 item 4): bookkeeping, step records, stable ErrorIds.
# The numerical accuracy (band-limited images to 1e-10, spectrum recovery within 5 %) is tested in xunit
# (MicrographPreprocessingTests); these tests check the cmdlets pass it on.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $ProgressPreference = 'SilentlyContinue'
    $v = New-EmVolume -Phantom -Size 11 -VoxelSize 2
    $script:M = New-Micrograph -Volume $v -Size 128 -ParticleCount 3 -Seed 7 3>$null
    $script:Wide = [CryoEmPS.Core.Simulation.Micrograph]::new(96, 160, [double[]]::new(96 * 160), 1.5, 'wide')
    $r = [System.Random]::new(3)
    for ($i = 0; $i -lt $script:Wide.Data.Length; $i++) { $script:Wide.Data[$i] = 5 + 2 * ($r.NextDouble() - 0.5) }
    $script:NoPixel = [CryoEmPS.Core.Simulation.Micrograph]::new(64, 64, [double[]]::new(64 * 64), 0, 'nopixel')
}

Describe 'Resize-Micrograph' {
    It 'halves the size, doubles the pixel size, keeps the mean, follows the noise variance' {
        $s = $script:M | Resize-Micrograph -Size 64
        $s.SizeY | Should -Be 64
        $s.PixelSize | Should -Be 4
        [math]::Abs(($s.Data | Measure-Object -Average).Average - ($script:M.Data | Measure-Object -Average).Average) | Should -BeLessThan 1e-9
        [math]::Abs($s.NoiseVariance - ($script:M.NoiseVariance * (63 / 128) * (63 / 128))) | Should -BeLessThan 1e-9
        $s.Truth | Should -BeNullOrEmpty
        $s.Steps[-1].ToString() | Should -Be 'Resize-Micrograph -Size 64'
        $script:M.SizeY | Should -Be 128 -Because 'the input is never changed'
        $script:M.Steps.Count | Should -Be 0
    }
    It 'reaches a pixel size on a non-square micrograph, keeping the aspect ratio' {
        $s = $script:Wide | Resize-Micrograph -PixelSize 3
        "$($s.SizeY)x$($s.SizeX)" | Should -Be '48x80'
        $s.PixelSize | Should -Be 3
        $s.Steps[-1].ToString() | Should -Be 'Resize-Micrograph -PixelSize 3'
    }
    It 'refuses upsampling with MicrographUpsampleRefused' {
        { $script:M | Resize-Micrograph -Size 200 -ErrorAction Stop } | Should -Throw -ErrorId 'MicrographUpsampleRefused,*'
        { $script:M | Resize-Micrograph -PixelSize 1 -ErrorAction Stop } | Should -Throw -ErrorId 'MicrographUpsampleRefused,*'
    }
    It 'needs a known pixel size for -PixelSize (MicrographPixelSizeUnknown)' {
        { $script:NoPixel | Resize-Micrograph -PixelSize 2 -ErrorAction Stop } | Should -Throw -ErrorId 'MicrographPixelSizeUnknown,*'
    }
    It 'rejects non-positive sizes' {
        { $script:M | Resize-Micrograph -Size 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
        { $script:M | Resize-Micrograph -PixelSize -1 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
    }
    It 'goes on with the rest of a batch after one bad micrograph' {
        $out = @($script:NoPixel, $script:M | Resize-Micrograph -PixelSize 4 -ErrorAction SilentlyContinue -ErrorVariable err)
        $out.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'MicrographPixelSizeUnknown,*'
    }
}

Describe 'Measure-NoiseSpectrum' {
    It 'reads the white noise of a simulated micrograph (variance within 10 %)' {
        $s = $script:M | Measure-NoiseSpectrum -TileSize 32
        $s.Name | Should -Be 'estimated'
        $s.Count | Should -Be 17
        $s.PixelSize | Should -Be 2
        $s.Variance(128, 128) / $script:M.NoiseVariance | Should -BeGreaterThan 0.9
        $s.Variance(128, 128) / $script:M.NoiseVariance | Should -BeLessThan 1.1
    }
    It '-PassThru attaches the spectrum to a copy and records the step' {
        $c = $script:M | Measure-NoiseSpectrum -TileSize 32 -Shells 9 -PassThru
        $c | Should -BeOfType CryoEmPS.Core.Simulation.Micrograph
        $c.NoiseSpectrum.Count | Should -Be 9
        $c.Steps[-1].ToString() | Should -Be 'Measure-NoiseSpectrum -TileSize 32 -Shells 9 -PassThru'
        $script:M.NoiseSpectrum | Should -BeNullOrEmpty
        # Every setting that changes the estimate is recorded, so the step reproduces it.
        $q = $script:M | Measure-NoiseSpectrum -TileSize 32 -Quantile 0.3 -PassThru
        $q.Steps[-1].ToString() | Should -Be 'Measure-NoiseSpectrum -TileSize 32 -Quantile 0.3 -PassThru'
    }
    It 'gives NoiseSpectrumShellCountInvalid for more shells than the tiles resolve' {
        { $script:M | Measure-NoiseSpectrum -TileSize 32 -Shells 40 -ErrorAction Stop } | Should -Throw -ErrorId 'NoiseSpectrumShellCountInvalid,*'
    }
    It 'gives NoiseSpectrumNotMeasurable for a micrograph without noise' {
        { $script:NoPixel | Measure-NoiseSpectrum -TileSize 32 -ErrorAction Stop } | Should -Throw -ErrorId 'NoiseSpectrumNotMeasurable,*'
    }
}

Describe 'Measure-NoiseSpectrum -Reconstruction (on the patches the EM found empty)' {
    BeforeAll {
        $v = New-EmVolume -Phantom -Size 11 -VoxelSize 2
        $script:Two = @(New-Micrograph -Volume $v -Size 99 -ParticleCount 4 -Count 2 -Seed 5 -Snr 5 3>$null)
        $script:TwoPatches = $script:Two | Get-PatchSet -PatchSize 11
        $script:Em = $script:TwoPatches | Invoke-ApproxEm -InitialVolume $v -NoiseVariance $script:Two[0].NoiseVariance -EllMax 2 `
            -RotationCount 30 -MaxIterations 2 -Seed 3 -ThrottleLimit 2
    }
    It 'gives every patch a posterior probability of being empty' {
        $p = $script:Em.PatchEmptyProbability
        $p.Count | Should -Be $script:TwoPatches.Count
        @($p | Where-Object { -not ($_ -ge 0 -and $_ -le 1) }).Count | Should -Be 0
    }
    It 'measures only on the empty patches, with the mean, and records the step' {
        $verbose = $script:Two[1] | Measure-NoiseSpectrum -PatchSet $script:TwoPatches -Reconstruction $script:Em -TileSize 8 -PassThru -Verbose 4>&1
        $m = $verbose | Where-Object { $_ -is [CryoEmPS.Core.Simulation.Micrograph] }
        $text = ($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n"
        $empty = 0
        for ($q = 0; $q -lt $script:TwoPatches.Count; $q++) {
            if ($script:TwoPatches.Origins[$q].Micrograph -eq 1 -and $script:Em.PatchEmptyProbability[$q] -ge $script:Em.EmptyProbability) { $empty++ }
        }
        $empty | Should -BeGreaterThan 10
        $text | Should -Match "$empty of its 81 patches are empty with probability ≥ [0-9.]+ \(the reconstruction's prior v\)"
        $text | Should -Match 'on the background\), mean per shell'
        $m.NoiseSpectrum.Name | Should -Be 'estimated'
        $m.Steps[-1].ToString() | Should -Match "^Measure-NoiseSpectrum -Reconstruction '$empty of 81 patches empty \(p ≥ 0\.\d+\)' -TileSize 8 -PassThru$"
    }
    It 'gives NoiseSpectrumReconstructionMismatch (terminating) for a patch set the reconstruction was not run on' {
        $other = $script:Two[0] | Get-PatchSet -PatchSize 11
        { $script:Two[0] | Measure-NoiseSpectrum -PatchSet $other -Reconstruction $script:Em } |
            Should -Throw -ErrorId 'NoiseSpectrumReconstructionMismatch,*'
    }
    It 'gives NoiseSpectrumMicrographNotInPatchSet for a micrograph not in the patch set, and goes on with the rest' {
        $stranger = New-Micrograph -Volume (New-EmVolume -Phantom -Size 11 -VoxelSize 2) -Size 99 -ParticleCount 2 -Seed 9 3>$null
        $stranger.Name = 'stranger'
        $out = @($stranger, $script:Two[0] | Measure-NoiseSpectrum -PatchSet $script:TwoPatches -Reconstruction $script:Em -TileSize 8 `
                -ErrorVariable errors -ErrorAction SilentlyContinue)
        $out.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'NoiseSpectrumMicrographNotInPatchSet,*'
    }
    It 'gives NoiseSpectrumMicrographAmbiguous when the patch set holds two micrographs of that name' {
        # Two separate simulations are both named 'phantom'; 2 x 81 patches, as many as the reconstruction scored.
        $v = New-EmVolume -Phantom -Size 11 -VoxelSize 2
        $twins = @(1, 2 | ForEach-Object { New-Micrograph -Volume $v -Size 99 -ParticleCount 4 -Seed $_ 3>$null })
        $twins[0].Name | Should -Be $twins[1].Name
        $same = $twins | Get-PatchSet -PatchSize 11 3>$null
        { $twins[0] | Measure-NoiseSpectrum -PatchSet $same -Reconstruction $script:Em -ErrorAction Stop } |
            Should -Throw -ErrorId 'NoiseSpectrumMicrographAmbiguous,*'
    }
    It 'gives NoiseSpectrumPatchSetMismatch for the micrograph at another size than the patches were cut from' {
        $small = $script:Two[0] | Resize-Micrograph -Size 50
        { $small | Measure-NoiseSpectrum -PatchSet $script:TwoPatches -Reconstruction $script:Em -ErrorAction Stop } |
            Should -Throw -ErrorId 'NoiseSpectrumPatchSetMismatch,*'
    }
}

Describe 'Edit-Micrograph' {
    It 'inverts the contrast' {
        $i = $script:M | Edit-Micrograph -InvertContrast
        $i.Data[100] | Should -Be (-$script:M.Data[100])
        $i.Steps[-1].ToString() | Should -Be 'Edit-Micrograph -InvertContrast'
    }
    It 'normalises to zero mean and unit noise variance' {
        $n = $script:M | Edit-Micrograph -Normalize
        $stats = $n.Data | Measure-Object -Average -StandardDeviation
        [math]::Abs($stats.Average - 0) | Should -BeLessThan 1e-9
        $stats.StandardDeviation | Should -BeGreaterThan 0.95
        $stats.StandardDeviation | Should -BeLessThan 1.1 -Because 'the particles add a little signal to the noise'
        $n.NoiseVariance | Should -Be 1
    }
    It 'applies the switches in the fixed order and records one step each' {
        $w = $script:M | Edit-Micrograph -Whiten -InvertContrast -Normalize -TileSize 32
        @($w.Steps | ForEach-Object ToString) | Should -Be @('Edit-Micrograph -InvertContrast', 'Edit-Micrograph -Normalize', 'Edit-Micrograph -Whiten')
        $w.NoiseVariance | Should -Be 1
        $w.NoiseSpectrum.IsWhite | Should -BeTrue
        $w.Whitening | Should -Not -BeNullOrEmpty
        $w.ToString() | Should -Match '3 steps \(last: Edit-Micrograph -Whiten\)'
    }
    It 'whitens with a given spectrum and leaves white noise white' {
        $spectrum = [CryoEmPS.Core.Projection.NoiseSpectrum]::White($script:M.NoiseVariance, 2)
        $w = $script:M | Edit-Micrograph -Whiten -NoiseSpectrum $spectrum
        [math]::Abs($w.Data[5] - ($script:M.Data[5] / [math]::Sqrt($script:M.NoiseVariance))) | Should -BeLessThan 1e-9
        $w.Steps[-1].ToString() | Should -Be 'Edit-Micrograph -Whiten -NoiseSpectrum white'
    }
    It 'refuses a spectrum of another pixel size (NoiseSpectrumPixelSizeMismatch)' {
        $spectrum = [CryoEmPS.Core.Projection.NoiseSpectrum]::White(1, 3)
        { $script:M | Edit-Micrograph -Whiten -NoiseSpectrum $spectrum -ErrorAction Stop } | Should -Throw -ErrorId 'NoiseSpectrumPixelSizeMismatch,*'
    }
    It 'needs a switch (MicrographEditNotGiven)' {
        { $script:M | Edit-Micrograph } | Should -Throw -ErrorId 'MicrographEditNotGiven,*'
    }
}
