@{
    RootModule           = 'CryoEmPS.dll'
    ModuleVersion        = '0.0.0'
    GUID                 = '6f1f7c56-8d51-4d2f-9a35-2f0b7b1e7a11'
    Author               = 'CryoEmPS developers'
    CompanyName          = 'CryoEmPS'
    Copyright            = '(c) CryoEmPS developers. MIT licence.'
    Description          = 'Cryo-EM reconstruction directly from micrographs, without particle picking: approximate EM over patch shifts and rotations with a Fourier-Bessel volume model.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('CryoEmPS.format.ps1xml')
    CmdletsToExport      = @(
        'Import-EmVolume'
        'Export-EmVolume'
        'Resize-EmVolume'
        'New-EmVolume'
        'New-RotationSet'
        'Get-EmProjection'
        'Export-EmImageStack'
        'Import-EmImageStack'
        'New-Micrograph'
        'Import-Micrograph'
        'Export-Micrograph'
        'Export-ParticleCoordinate'
        'Get-PatchSet'
        'Measure-Fsc'
        'Measure-FourierBesselCeiling'
        'ConvertTo-FourierBessel'
        'ConvertFrom-FourierBessel'
        'Invoke-ApproxEm'
        'Export-EmPicture'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('cryo-EM', 'reconstruction', 'expectation-maximization', 'Linux')
            ProjectUri = ''
        }
    }
}
