# Cmdlets from different parts of the module working together.
BeforeDiscovery { . (Join-Path $PSScriptRoot 'Common.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $script:Truth = New-EmVolume -Phantom -Size 11
    $script:Fb = $script:Truth | ConvertTo-FourierBessel -EllMax 6
}

Describe 'Get-EmProjection -FourierBessel' {
    It 'projects exactly and agrees with the voxel projector of the synthesised volume to 1e-2' {
        $rot = New-RotationSet -Random -Count 5 -Seed 4
        $a = Get-EmProjection -FourierBessel $script:Fb -Rotation $rot
        $b = Get-EmProjection -Volume ($script:Fb | ConvertFrom-FourierBessel) -Rotation $rot
        $a.Count | Should -Be 5
        $num = 0.0; $den = 0.0
        for ($i = 0; $i -lt $a.Data.Length; $i++) { $d = $a.Data[$i] - $b.Data[$i]; $num += $d * $d; $den += $a.Data[$i] * $a.Data[$i] }
        [math]::Sqrt($num / $den) | Should -BeLessThan 1e-2
    }
    It 'takes a FourierBesselVolume from the pipeline' {
        ($script:Fb | Get-EmProjection -Rotation (New-RotationSet -Count 3)).Count | Should -Be 3
    }
}

Describe 'New-Micrograph -Volume <FourierBesselVolume>' {
    It 'simulates with the exact projector: the clean image holds the exact projections at the truth positions' {
        $rot = New-RotationSet -Count 20
        $m = New-Micrograph -Volume $script:Fb -Size 110 -ParticleCount 4 -Snr 1 -Rotation $rot -Seed 3 -IncludeClean
        $m.ParticleCount | Should -Be 4
        $p = $m.Truth.Particles[0]
        $img = Get-EmProjection -FourierBessel $script:Fb -Rotation $p.Rotation
        $L = 11; $maxErr = 0.0
        for ($y = 0; $y -lt $L; $y++) { for ($x = 0; $x -lt $L; $x++) {
                $clean = $m.Clean[($p.Row + $y) * $m.SizeX + $p.Column + $x]
                $maxErr = [math]::Max($maxErr, [math]::Abs($clean - $img.Data[$y * $L + $x]))
            } }
        $maxErr | Should -BeLessThan 1e-12
    }
    It 'refuses other input types with InvalidVolumeType' {
        { New-Micrograph -Volume 'not a volume' -Size 100 -ParticleCount 2 } | Should -Throw -ErrorId 'InvalidVolumeType*'
    }
}

Describe 'Round trips across cmdlets' {
    It 'exports and re-imports a simulated micrograph with its noise variance, then cuts the same patches' {
        $m = New-Micrograph -Volume $script:Truth -Size 66 -ParticleCount 3 -Snr 2 -Seed 5
        $path = Join-Path $TestDrive 'm.mrc'
        $m | Export-Micrograph -Path $path
        $back = Import-Micrograph -Path $path
        $back.NoiseVariance | Should -Be $m.NoiseVariance
        $p1 = $m | Get-PatchSet -PatchSize 11
        $p2 = $back | Get-PatchSet -PatchSize 11
        $p2.Count | Should -Be $p1.Count
        $maxErr = 0.0
        for ($i = 0; $i -lt $p1.Data.Length; $i++) { $maxErr = [math]::Max($maxErr, [math]::Abs($p1.Data[$i] - $p2.Data[$i])) }
        $maxErr | Should -BeLessThan (1e-6 * [math]::Sqrt($m.NoiseVariance) * 100)
    }
}

Describe 'The whole pipeline: phantom -> micrograph (Method 2) -> patches -> Invoke-ApproxEm -> Measure-Fsc' {
    It 'raises the log-likelihood and improves the FSC against the truth from a low-passed start' {
        # Measured: FSC 0.5 crossing 2.23 -> 3.19 shells, LL -171779 -> -171290 (seeded; about 10 s on 2 cores).
        $truth = New-EmVolume -Phantom -Size 11 -VoxelSize 4
        $initial = $truth | Resize-EmVolume -Size 4 | Resize-EmVolume -Size 11
        $mic = New-Micrograph -Volume $truth -Size 264 -Density 0.4 -Snr 10 -Seed 5 -WarningAction SilentlyContinue
        $result = $mic | Get-PatchSet -PatchSize 11 |
            Invoke-ApproxEm -InitialVolume $initial -EllMax 4 -RotationCount 300 -StochasticFactor 1 -MaxIterations 3 -Reference $truth -Seed 1
        $ll = $result.History.LogLikelihood
        for ($i = 1; $i -lt $ll.Count; $i++) { $ll[$i] | Should -BeGreaterOrEqual ($ll[$i - 1] - 1e-6 * [math]::Abs($ll[$i - 1])) }
        $ll[-1] | Should -BeGreaterThan $ll[0]
        $before = $result.History[0].FscShell
        $after = ($result | Measure-Fsc -Reference $truth).CrossingShell
        $after | Should -BeGreaterThan ($before + 0.5)
        $result.Volume.Size | Should -Be 11
    }
}

Describe 'examples/Sweep-Snr.ps1' {
    It 'runs a one-point sweep and writes a CSV where the EM improved on the initial guess' {
        $script = Join-Path $PSScriptRoot '../../examples/Sweep-Snr.ps1'
        $env:CRYOEMPS_MODULE = $script:ModulePath
        & $script -Snr 16 -OutputFolder $TestDrive 6>$null
        $rows = Import-Csv (Join-Path $TestDrive 'sweep.csv')
        @($rows).Count | Should -Be 1
        [double]$rows[0].FscAfter | Should -BeGreaterThan ([double]$rows[0].FscBefore)
    }
}

Describe 'Reconstruction of the 70S ribosome (../shared/data)' {
    It 'improves the FSC of a low-passed start on a Method 2 micrograph of clean70SRibosome_vol_11p.mrc' -Skip:(-not $script:HasSharedData) {
        # Measured: FSC(0.5) crossing 2.41 -> 5 (all shells above 0.5) in 3 iterations, about 3 s.
        $truth = Import-EmVolume -LiteralPath (Join-Path $script:SharedData 'clean70SRibosome_vol_11p.mrc')
        $initial = $truth | Resize-EmVolume -Size 4 | Resize-EmVolume -Size 11
        $mic = New-Micrograph -Volume $truth -Size 264 -Density 0.4 -Snr 10 -Seed 5 -WarningAction SilentlyContinue
        $result = $mic | Get-PatchSet -PatchSize 11 |
            Invoke-ApproxEm -InitialVolume $initial -EllMax 4 -RotationCount 300 -StochasticFactor 1 -MaxIterations 3 -Reference $truth -Seed 1
        $result.History[-1].LogLikelihood | Should -BeGreaterThan $result.History[0].LogLikelihood
        ($result | Measure-Fsc -Reference $truth).CrossingShell | Should -BeGreaterThan ($result.History[0].FscShell + 1)
    }
}
