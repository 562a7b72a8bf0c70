# examples/Real-Micrograph.ps1: raw CTF micrographs written as files, read back, preprocessed and reconstructed.
BeforeDiscovery { . (Join-Path $PSScriptRoot 'Common.ps1') }
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    # One run for every check (about 20 s on 2 cores); the example returns its summary as an object.
    $env:CRYOEMPS_MODULE = $script:ModulePath
    $script:Out = Join-Path $TestDrive 'real'
    $script:Summary = & (Join-Path $PSScriptRoot '../../examples/Real-Micrograph.ps1') -OutputDirectory $script:Out -Seed 2026 6>$null
}

Describe 'examples/Real-Micrograph.ps1' {
    It 'writes the micrographs, the RELION CTF file, the maps and the pictures' {
        foreach ($name in 'mic001.mrc', 'mic004.mrc', 'micrographs_ctf.star', 'estimate.mrc', 'truth.mrc',
            'micrograph.png', 'spectrum.png', 'estimate.png', 'history.png', 'fsc.png') {
            Join-Path $script:Out $name | Should -Exist
        }
    }
    It 'writes a micrographs_ctf.star that Import-EmCtf reads back with the simulated defocus values' {
        $ctfs = @(Import-EmCtf -Path (Join-Path $script:Out 'micrographs_ctf.star'))
        $ctfs.Count | Should -Be 4
        for ($i = 0; $i -lt 4; $i++) {
            $ctfs[$i].MicrographName | Should -BeLike 'MotionCorr/job002/Movies/mic00?.mrc'
            $ctfs[$i].Ctf.DefocusU | Should -BeGreaterThan 0
            [math]::Abs($ctfs[$i].Ctf.DefocusU - @($script:Summary.DefocusU)[$i]) | Should -BeLessThan 0.01
        }
    }
    It 'attaches each micrograph its own defocus, inside -DefocusRange 10000, 25000' {
        $script:Summary.Micrograph | Should -Be 'mic001.mrc', 'mic002.mrc', 'mic003.mrc', 'mic004.mrc'
        foreach ($d in @($script:Summary.DefocusU) + @($script:Summary.DefocusV)) { $d | Should -BeGreaterThan 9500; $d | Should -BeLessThan 25500 }
        @($script:Summary.DefocusU | Sort-Object -Unique).Count | Should -Be 4
    }
    It 'finds the start''s scale from the data (-FitInitialScale) near the voxel-size ratio that makes it right' {
        # The start's projections sum 17 voxels of 4.7 Å where the data sum 80 of 1 Å: 4.706x too weak.
        $script:Summary.VoxelSizeRatio | Should -BeGreaterThan 4.7
        $script:Summary.InitialScale | Should -BeGreaterThan (0.7 * $script:Summary.VoxelSizeRatio)
        $script:Summary.InitialScale | Should -BeLessThan (1.4 * $script:Summary.VoxelSizeRatio)
    }
    It 'cuts 900 patches and estimates σ² of the whitened data near 1' {
        # Measured: 0.989 (the spectrum measured with the particles in reads a little high, so the data are a little below 1).
        $script:Summary.PatchCount | Should -Be 900
        $script:Summary.NoiseVariance | Should -BeGreaterThan 0.7
        $script:Summary.NoiseVariance | Should -BeLessThan 1.3
    }
    It 'measures the noise spectrum again on the patches the EM found empty, closer to the simulator''s' {
        # Measured: 3.7 / 5.8 / 4.9 / 3.7 % on the whole micrographs, 2.8 / 1.6 / 2.7 / 4.3 % on the background.
        @($script:Summary.BackgroundNoiseSpectrumErrorPercent).Count | Should -Be 4
        foreach ($e in $script:Summary.BackgroundNoiseSpectrumErrorPercent) { $e | Should -BeLessThan 6 }
        ($script:Summary.BackgroundNoiseSpectrumErrorPercent | Measure-Object -Average).Average |
            Should -BeLessThan ($script:Summary.NoiseSpectrumErrorPercent | Measure-Object -Average).Average
    }
    It 'improves on the start against the truth and reports a half-map resolution' {
        # Measured: FSC 0.5 crossing 3.26 -> 6.01 shells (24.6 -> 13.3 Å); half maps 0.143 at shell 6.71 (11.9 Å).
        $script:Summary.FscShell | Should -BeGreaterThan ($script:Summary.StartFscShell + 2)
        $script:Summary.HalfMapFscShell | Should -BeGreaterThan $script:Summary.StartFscShell
        $script:Summary.HalfMapAngstrom | Should -BeGreaterOrEqual (2 * $script:Summary.PixelSize - 1e-9)
    }
}
