BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    function New-TestVolume([int] $Size, [int] $Seed) {
        $rng = [System.Random]::new($Seed)
        $data = [double[]]::new($Size * $Size * $Size)
        for ($i = 0; $i -lt $data.Length; $i++) { $data[$i] = $rng.NextDouble() }
        [CryoEmPS.Core.Volumes.Volume]::new($Size, $data, 1.5, "random$Seed")
    }
}

Describe 'Measure-Fsc' {
    It 'gives correlation 1 for a volume against itself, with a curve of floor(L/2)+1 shells' {
        $v = New-TestVolume 9 1
        $r = Measure-Fsc -Reference $v -Volume $v
        $r | Should -BeOfType CryoEmPS.Core.Evaluation.FscResult
        $r.Curve.Count | Should -Be 5
        $r.Curve | ForEach-Object { $_.Correlation | Should -BeGreaterThan (1 - 1e-12) }
        $r.CrossesThreshold | Should -BeFalse
    }
    It 'binds -Volume by property name from any object with a Volume property' {
        $v = New-TestVolume 8 2
        $r = [pscustomobject]@{ Volume = $v } | Measure-Fsc -Reference $v
        $r.Curve[1].Correlation | Should -BeGreaterThan 0.999999
    }
    It 'refuses volumes of different sizes with FscSizeMismatch' {
        { Measure-Fsc -Reference (New-TestVolume 8 1) -Volume (New-TestVolume 9 1) } | Should -Throw -ErrorId 'FscSizeMismatch*'
    }
    It 'refuses non-cubic volumes with FscNonCubicVolume' {
        $flat = [CryoEmPS.Core.Volumes.Volume]::new(4, 8, 8, $null, 0, 'flat')
        { Measure-Fsc -Reference $flat -Volume (New-TestVolume 8 1) } | Should -Throw -ErrorId 'FscNonCubicVolume*'
    }
    It 'rejects a threshold outside (-1, 1)' {
        $v = New-TestVolume 8 1
        { Measure-Fsc -Reference $v -Volume $v -Threshold 1.5 } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }
    It 'reports Angstrom from the voxel size of independent volumes' {
        $a = New-TestVolume 10 3; $b = New-TestVolume 10 4
        $r = Measure-Fsc -Reference $a -Volume $b
        $r.CrossesThreshold | Should -BeTrue
        if ($r.CrossingShell -gt 0) { [math]::Abs($r.ResolutionAngstrom - 10 * 1.5 / $r.CrossingShell) | Should -BeLessThan 1e-9 }
    }
}
