# The default display of every output type: a short table with the numbers a scientist wants (units in the
# headers), no dumped arrays, and it fits an 80-column console. ToString() is a one-line summary.
BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $ProgressPreference = 'SilentlyContinue'
    $v = New-EmVolume -Phantom -Size 11 -VoxelSize 4.2
    $m = New-Micrograph -Volume $v -Size 110 -ParticleCount 5 -Seed 1 3>$null
    $ps = $m | Get-PatchSet
    $em = $ps | Invoke-ApproxEm -InitialVolume $v -EllMax 2, 3 -RotationCount 10 -MaxIterations 1 -Seed 1 -Reference $v
    $script:Objects = @{
        Volume      = $v
        ImageStack  = $v | Get-EmProjection -Rotation (New-RotationSet -Count 5)
        RotationSet = New-RotationSet -Count 5
        Rotation    = (New-RotationSet -EulerAngle (, @(10, 20, 30))).Rotations[0]
        Micrograph  = $m
        PatchSet    = $ps
        FourierBessel = $v | ConvertTo-FourierBessel -EllMax 4
        Fsc         = Measure-Fsc -Reference $v -Volume ($v | Resize-EmVolume -Size 7 | Resize-EmVolume -Size 11)
        ApproxEm    = $em
        History     = $em.History
    }
    function script:Show($o) { ($o | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() } }
}

Describe 'Default display' {
    It '<Type> shows <Expect> in a few lines that fit 80 columns' -ForEach @(
        @{ Type = 'Volume';        Expect = @('Size \(z,y,x\)', 'VoxelSize\(Å\)', '11x11x11', '4\.2') }
        @{ Type = 'ImageStack';    Expect = @('Count', 'PixelSize\(Å\)', '11x11', '\b5\b') }
        @{ Type = 'RotationSet';   Expect = @('Kind', 'Count', 'Grid') }
        @{ Type = 'Rotation';      Expect = @('rot 10', 'tilt 20', 'psi 30', '°') }
        @{ Type = 'Micrograph';    Expect = @('Particles', 'NoiseVariance', 'SNR', 'Seed', '110x110') }
        @{ Type = 'PatchSet';      Expect = @('PatchSize', 'Whole', 'Partial', 'Empty', '\b100\b') }
        @{ Type = 'FourierBessel'; Expect = @('EllMax', 'Count', '\b84\b') }
        @{ Type = 'Fsc';           Expect = @('CrossingShell', 'Resolution\(Å\)', '0\.5') }
        @{ Type = 'ApproxEm';      Expect = @('LL/patch', 'FSC shell', 'Seed') }
        @{ Type = 'History';       Expect = @('ℓmax', 'LL/patch', 'Time\(s\)', 'FSC shell') }
    ) {
        $lines = @(Show $script:Objects[$Type])
        $text = $lines -join "`n"
        foreach ($e in $Expect) { $text | Should -Match $e }
        $lines.Count | Should -BeLessOrEqual 8 -Because "the default display should be a short summary:`n$text"
        ($lines | Measure-Object -Property Length -Maximum).Maximum | Should -BeLessOrEqual 80 -Because "no column may wrap:`n$text"
        $text | Should -Not -Match '…\}' -Because 'arrays must not be dumped'
    }

    It '<Type>.ToString() is a one-line summary' -ForEach @(
        @{ Type = 'Volume'; Expect = '11³.*Å' }, @{ Type = 'ImageStack'; Expect = '5 x 11x11' }, @{ Type = 'Micrograph'; Expect = 'SNR' }
        @{ Type = 'PatchSet'; Expect = '100 patches' }, @{ Type = 'FourierBessel'; Expect = 'ℓmax = 4' }, @{ Type = 'Fsc'; Expect = 'Å' }
        @{ Type = 'ApproxEm'; Expect = 'LL/patch' }, @{ Type = 'RotationSet'; Expect = 'K = 5' }
    ) {
        $s = $script:Objects[$Type].ToString()
        $s | Should -Match $Expect
        $s | Should -Not -Match "`n"
    }
}
