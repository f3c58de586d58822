"""Exports: final annotations out of LabelStack in the formats the field reads (DICOM SEG,
NIfTI, PNG, a dataset zip) and SEGs made elsewhere back in."""
