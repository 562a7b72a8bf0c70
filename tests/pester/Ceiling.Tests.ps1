# Measure-FourierBesselCeiling, the shipped example structure and benchmarks/Measure-Ceiling.ps1 (issue 11, item 6).
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $ProgressPreference = 'SilentlyContinue'
    $script:Pdb = Join-Path $PSScriptRoot '../../examples/5cvz_final.pdb'
    $script:V11 = New-EmVolume -Phantom -Size 11
    $script:Mic11 = New-Micrograph -Volume $script:V11 -Size 220 -Density 0.4 -Snr 1 -Seed 1 3>$null
}

Describe 'Measure-FourierBesselCeiling' {
    It 'measures the phantom''s own expansion at the paper''s three ℓmax by default' {
        $r = @(New-EmVolume -Phantom -Size 17 | Measure-FourierBesselCeiling)
        $r.EllMax | Should -Be @(6, 10, 14)
        $r.ParameterCount | Should -Be @(279, 546, 802)
        foreach ($m in $r) {
            $m | Should -BeOfType ([CryoEmPS.Core.Reconstruction.CeilingMeasurement])
            $m.ExpansionShell | Should -Be 8
            $m.Expansion.CrossesThreshold | Should -BeFalse
            [double]::IsNaN($m.OracleShell) | Should -BeTrue
            $m.OracleVolume | Should -BeNullOrEmpty
        }
    }
    It 'caps the default ℓmax at what a small L allows' {
        (@($script:V11 | Measure-FourierBesselCeiling)).EllMax | Should -Be @(6, 10)
    }
    It 'adds the oracle-pose fit from simulated micrographs' {
        $r = @($script:V11 | Measure-FourierBesselCeiling -EllMax 4, 6 -Micrograph $script:Mic11)
        $r.Count | Should -Be 2
        foreach ($m in $r) {
            $m.ParticleCount | Should -Be $script:Mic11.ParticleCount
            $m.OracleShell | Should -BeGreaterThan 1
            $m.OracleShell | Should -BeLessOrEqual 5
            $m.OracleVolume | Should -BeOfType ([CryoEmPS.Core.Volumes.FourierBesselVolume])
            $m.OracleVolume.EllMax | Should -Be $m.EllMax
            $m.ToString() | Should -Match 'oracle-pose fit'
        }
    }
    It 'adds the oracle-pose fit on an EM''s rotation grid with -RotationCount' {
        $r = @($script:V11 | Measure-FourierBesselCeiling -EllMax 4, 6 -Micrograph $script:Mic11 -RotationCount 30, 300)
        $r.RotationCount | Should -Be @(30, 300)
        foreach ($m in $r) {
            $m.GridOracleShell | Should -BeGreaterThan 0
            $m.GridOracle.Curve.Count | Should -Be $m.Oracle.Curve.Count
            $m.ToString() | Should -Match "on $($m.RotationCount) rotations at"
        }
        # One K serves every ℓmax; without -RotationCount there is no grid fit.
        (@($script:V11 | Measure-FourierBesselCeiling -EllMax 4, 6 -Micrograph $script:Mic11 -RotationCount 50)).RotationCount | Should -Be @(50, 50)
        $plain = $script:V11 | Measure-FourierBesselCeiling -EllMax 4 -Micrograph $script:Mic11
        [double]::IsNaN($plain.GridOracleShell) | Should -BeTrue
        $plain.RotationCount | Should -Be 0
    }
    It 'gives the same oracle fit whatever the thread count' {
        $a = $script:V11 | Measure-FourierBesselCeiling -EllMax 6 -Micrograph $script:Mic11 -ThrottleLimit 1
        $b = $script:V11 | Measure-FourierBesselCeiling -EllMax 6 -Micrograph $script:Mic11 -ThrottleLimit 2
        $a.OracleVolume.Coefficients | Should -Be $b.OracleVolume.Coefficients
    }
    It 'shows a short table' {
        $text = ($script:V11 | Measure-FourierBesselCeiling -EllMax 4 -Micrograph $script:Mic11 | Out-String -Width 80)
        $text | Should -Match 'ℓmax'
        $text | Should -Match 'Ceiling shell'
        $text | Should -Match 'Oracle shell'
        (($text -split "`r?`n") | Measure-Object -Property Length -Maximum).Maximum | Should -BeLessOrEqual 80
    }
    It 'refuses <Name> with <Id>' -ForEach @(
        @{ Name = 'an ℓmax above the basis'; Code = { $script:V11 | Measure-FourierBesselCeiling -EllMax 14 }; Id = 'CeilingEllMaxTooLarge,*' }
        @{ Name = 'an imported micrograph'; Code = { $script:V11 | Measure-FourierBesselCeiling -EllMax 4 -Micrograph ([CryoEmPS.Core.Simulation.Micrograph]::new(40, 40)) }
            Id = 'CeilingMicrographHasNoTruth,*' }
        @{ Name = 'particles of another size'; Code = { New-EmVolume -Phantom -Size 13 | Measure-FourierBesselCeiling -EllMax 4 -Micrograph $script:Mic11 }
            Id = 'CeilingSizeMismatch,*' }
        @{ Name = 'a non-cubic volume'; Code = { [CryoEmPS.Core.Volumes.Volume]::new(9, 10, 11) | Measure-FourierBesselCeiling -EllMax 4 }
            Id = 'CeilingNonCubicVolume,*' }
        @{ Name = 'NaN voxels'; Code = { $v = New-EmVolume -Phantom -Size 9; $v.Data[3] = [double]::NaN; $v | Measure-FourierBesselCeiling -EllMax 4 }
            Id = 'VolumeNotFinite,*' }
        @{ Name = '-RotationCount without micrographs'; Code = { $script:V11 | Measure-FourierBesselCeiling -EllMax 4 -RotationCount 100 }
            Id = 'CeilingRotationCountNeedsMicrograph,*' }
        @{ Name = 'two K for three ℓmax'; Code = { $script:V11 | Measure-FourierBesselCeiling -EllMax 2, 4, 6 -Micrograph $script:Mic11 -RotationCount 10, 20 }
            Id = 'CeilingRotationCountMismatch,*' }
        @{ Name = 'K = 0'; Code = { $script:V11 | Measure-FourierBesselCeiling -EllMax 4 -Micrograph $script:Mic11 -RotationCount 0 }
            Id = 'ParameterArgumentValidationError,*' }
        @{ Name = 'a threshold of 1'; Code = { $script:V11 | Measure-FourierBesselCeiling -Threshold 1 }; Id = 'ParameterArgumentValidationError,*' }
    ) {
        $Code | Should -Throw -ErrorId $Id
    }
}

Describe 'The example structure examples/5cvz_final.pdb' {
    It 'loads and gives a compact, non-empty 17³ density at 6 Å/voxel, without warnings' {
        $v = New-EmVolume -AtomicModel $script:Pdb -Size 17 -VoxelSize 6 -WarningVariable wv -WarningAction SilentlyContinue
        $wv | Should -BeNullOrEmpty
        $v.Max() | Should -BeGreaterThan 0
        $v.Min() | Should -BeGreaterOrEqual 0
        $v.VoxelSize | Should -Be 6
        ($v | Measure-FourierBesselCeiling -EllMax 14).Expansion.CrossesThreshold | Should -BeFalse
    }
}

Describe 'benchmarks/Measure-Ceiling.ps1' {
    It 'prints a markdown table for both volumes (small micrograph)' {
        $script = Join-Path $PSScriptRoot '../../benchmarks/Measure-Ceiling.ps1'
        $env:CRYOEMPS_MODULE = $script:ModulePath
        try { $lines = @(& $script -Size 200 -EllMax 4, 6 -Snr 2) }
        finally { Remove-Item Env:CRYOEMPS_MODULE -ErrorAction SilentlyContinue }
        $lines | Should -Contain '|---|---|---|---|---|---|---|---|---|---|---|'
        @($lines | Where-Object { $_ -match '^\| 2 \| phantom \| \d+ \| [46] \|' }).Count | Should -Be 2
        # The oracle on the EM's grid: the paper's K of the stage in the same position.
        @($lines | Where-Object { $_ -match '\(3392\) \|' }).Count | Should -Be 4
        @($lines | Where-Object { $_ -match '^\| 2 \| 5cvz' }).Count | Should -Be 2
    }
}
