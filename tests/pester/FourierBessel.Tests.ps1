BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    function New-TestVolume([int]$Size, [int]$Seed) {
        $rng = [System.Random]::new($Seed)
        $data = [double[]]::new($Size * $Size * $Size)
        for ($i = 0; $i -lt $data.Length; $i++) { $data[$i] = $rng.NextDouble() }
        [CryoEmPS.Core.Volumes.Volume]::new($Size, $data, 1.25, 'test')
    }
}

Describe 'ConvertTo-FourierBessel / ConvertFrom-FourierBessel' {
    It 'has <Count> parameters for L = <L>, ℓmax = <Ell>' -ForEach @(
        @{ L = 11; Ell = 6; Count = 132 }, @{ L = 15; Ell = 10; Count = 425 }, @{ L = 17; Ell = 14; Count = 802 }
    ) {
        $fb = New-TestVolume -Size $L -Seed 1 | ConvertTo-FourierBessel -EllMax $Ell
        $fb | Should -BeOfType CryoEmPS.Core.Volumes.FourierBesselVolume
        $fb.Count | Should -Be $Count
        $fb.Coefficients.Length | Should -Be $Count
        $fb.VoxelSize | Should -Be 1.25
    }

    It 'round-trips synthesis then analysis to 1e-10 (odd and even L)' -ForEach @(@{ L = 11 }, @{ L = 10 }) {
        $fb = New-TestVolume -Size $L -Seed 2 | ConvertTo-FourierBessel -EllMax 5
        $back = $fb | ConvertFrom-FourierBessel | ConvertTo-FourierBessel -EllMax 5
        $max = 0.0
        for ($i = 0; $i -lt $fb.Count; $i++) { $max = [Math]::Max($max, [Math]::Abs($fb.Coefficients[$i] - $back.Coefficients[$i])) }
        $max | Should -BeLessThan 1e-10
        ($fb | ConvertFrom-FourierBessel).Size | Should -Be $L
    }

    It 'clamps an ℓmax above the maximum with a warning naming it' {
        $max = [CryoEmPS.Core.Volumes.FourierBesselBasis]::MaxEll(9)
        $fb = New-TestVolume -Size 9 -Seed 3 | ConvertTo-FourierBessel -EllMax 40 -WarningVariable w -WarningAction SilentlyContinue
        $fb.EllMax | Should -Be $max
        "$w" | Should -Match "ℓ = $max"
    }

    It 'rejects a negative ℓmax' {
        { New-TestVolume -Size 9 -Seed 3 | ConvertTo-FourierBessel -EllMax -1 } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }

    It 'rejects a non-cubic volume' {
        $v = [CryoEmPS.Core.Volumes.Volume]::new(5, 6, 5, $null, 0, 'box')
        { $v | ConvertTo-FourierBessel -EllMax 2 } | Should -Throw -ErrorId 'FourierBesselNonCubicVolume,CryoEmPS.Commands.ConvertToFourierBesselCommand'
    }

    It 'formats as a table and has a useful ToString' {
        $fb = New-TestVolume -Size 9 -Seed 4 | ConvertTo-FourierBessel -EllMax 3
        "$fb" | Should -Match 'L = 9, ℓmax = 3'
        ($fb | Format-Table | Out-String) | Should -Match 'EllMax'
    }
}
