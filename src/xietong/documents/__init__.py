"""Official documents (文书): notices and decisions issued for a case, their templates, numbers and PDFs."""
